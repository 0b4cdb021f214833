"""MMSegmentation side of the project: importing it registers every module into the mmseg
registries (configs load it with ``custom_imports``). The MMDetection adapters are a package of
their own, :mod:`mmdet_plugins`, so importing this one neither needs mmdet nor registers detectors."""
import mmengine_plugins  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from mmengine_plugins import register_safe_globals
from mmseg.models.decode_heads import decode_head as _decode_head

from .datasets import BloodCellDataset
from .evaluation import NucleusMetric
from .hooks import ContourOverlayHook
from .losses import UnifiedFocalLoss, sync_free_accuracy
from .transforms import RandomFieldWindow
from .models import (DenseNetSkipEncoder, EdgeGuidedEncoderDecoder, EnsembleNucleusSegmentor, FABNetHead,
                     HandcraftedNucleusSegmentor, MonaiUNet, MSFFHead, PassThroughHead, R2UNet)

# BaseDecodeHead.loss_by_feat logs `acc_seg` with mmseg's accuracy, whose boolean-mask indexing stalls
# the host twice per head and step on a GPU; the sync-free equivalent gives the same values.
_decode_head.accuracy = sync_free_accuracy

__all__ = ['BloodCellDataset', 'ContourOverlayHook', 'DenseNetSkipEncoder', 'EdgeGuidedEncoderDecoder',
           'EnsembleNucleusSegmentor', 'FABNetHead', 'HandcraftedNucleusSegmentor', 'MSFFHead', 'MonaiUNet',
           'NucleusMetric', 'PassThroughHead', 'R2UNet', 'RandomFieldWindow', 'UnifiedFocalLoss', 'register_safe_globals',
           'sync_free_accuracy']
