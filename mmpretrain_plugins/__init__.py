"""MMPretrain side of the project: the ALL classifiers of spec 002 stage 2 (explainable CAD).
Importing it registers every module below (configs load it with ``custom_imports``); it needs
mmpretrain, not mmseg or mmdet.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).
Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).

=========================  ==========  ===================================================
name                       registry    what
=========================  ==========  ===================================================
``Mish``                   MODELS      ``torch.nn.Mish`` (Eq. 8) for ``build_activation_layer``
                           (MMEngine   (mmcv 2.1 has no Mish); registered only if absent
                           root)
``ActivationResNet``       MODELS      ResNet with every ReLU replaced (Table 1 Mish/ReLU)
``PretrainedDenseNet``     MODELS      DenseNet + local ImageNet checkpoint (spec 003 §2.6, 004 §2.3)
``BloodCellClsDataset``    DATASETS    ``images/<class>/<file>`` + ``splits/fold{k}_*.txt``
``MaskOutsideNucleus``     TRANSFORMS  "Segmented" input: pixels outside the nucleus -> 0
``ClassificationReport``   METRICS     accuracy, per-class/macro/weighted P, R, Spec, F1,
                                       confusion matrix (CSV + PNG)
=========================  ==========  ===================================================

The heads are MMPretrain's own: ``LinearClsHead`` (Linear, 2048->K) and
``StackedLinearClsHead(mid_channels=[1024, 512])`` (Medium, 2048->1024->512->K).
"""
import mmengine_plugins  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from mmengine_plugins import register_safe_globals

from .activations import register_mish
from .backbones import ActivationResNet, load_backbone_weights, replace_activations
from .datasets import BloodCellClsDataset
from .densenet import PretrainedDenseNet, torchvision_densenet_key
from .evaluation import ClassificationReport
from .transforms import MaskOutsideNucleus

__all__ = ['ActivationResNet', 'BloodCellClsDataset', 'ClassificationReport', 'MaskOutsideNucleus',
           'PretrainedDenseNet', 'load_backbone_weights', 'register_mish', 'register_safe_globals',
           'replace_activations', 'torchvision_densenet_key']
