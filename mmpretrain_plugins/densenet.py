"""DenseNet classifier backbone with an optional local ImageNet checkpoint (spec 003 §2.6, spec 004 §2.3).

Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

ALL-FABNET's classifier (spec 003 §2.6: Table II's best row "DenseNet169"; "We train the models
with transfer learning techniques", read as ImageNet pretraining) and the "Dense Convolutional
Neural Network" of DeepBCSDnet's last stage (spec 004 §2.3) are MMPretrain's ``DenseNet``.
MMPretrain's own ``init_cfg=dict(type='Pretrained', ...)`` would read MMPretrain checkpoints only
and fail deep inside MMEngine on a missing file; :class:`PretrainedDenseNet` instead takes
``pretrained=PATH`` like the project's :class:`~mmpretrain_plugins.backbones.ActivationResNet`:

* a missing file stops the build, naming the path (nothing is downloaded);
* accepted files: an MMPretrain DenseNet classifier checkpoint (``backbone.*`` keys, e.g.
  ``densenet169_3rdparty_in1k``), a backbone-only state dict, or torchvision's ``densenet169``
  state dict (``features.*`` keys, renamed by :func:`torchvision_densenet_key`); the classifier
  layer in the file (``head.``, ``classifier.``) is ignored;
* a checkpoint of another depth is an error listing the shapes that differ.
"""
from __future__ import annotations

import functools
import os.path as osp
import re

from mmpretrain.models import DenseNet
from mmpretrain.registry import MODELS

from .backbones import load_backbone_weights

_TORCHVISION_LAYER = re.compile(r'^features\.denseblock(\d+)\.denselayer(\d+)\.(.+)$')
_TORCHVISION_TRANSITION = re.compile(r'^features\.transition(\d+)\.(.+)$')
# torchvision checkpoints older than 0.3 wrote 'norm.1' for 'norm1' (its densenet loader fixes it too)
_OLD_TORCHVISION_NAME = re.compile(r'\b(norm|relu|conv)\.([12])\.')
ACCEPTED_KEYS = ('MMPretrain DenseNet keys (stem.0.weight, stages.0.block.0.norm1.weight, ..., optionally under '
                 "'backbone.') or torchvision DenseNet keys (features.conv0.weight, "
                 'features.denseblock1.denselayer1.norm1.weight, ...)')


def torchvision_densenet_key(name: str, last_transition: int) -> str:
    """MMPretrain ``DenseNet`` name of a torchvision ``densenet*`` state-dict key (others unchanged).

    torchvision                                   MMPretrain
    features.conv0 / features.norm0               stem.0 / stem.1
    features.denseblock{b}.denselayer{l}.X        stages.{b-1}.block.{l-1}.X
    features.transition{t}.X                      transitions.{t-1}.X
    features.norm5                                transitions.{last_transition}.0 (BN + act after block 4)
    """
    name = _OLD_TORCHVISION_NAME.sub(r'\1\2.', name)
    if name.startswith('features.conv0.'):
        return 'stem.0.' + name[len('features.conv0.'):]
    if name.startswith('features.norm0.'):
        return 'stem.1.' + name[len('features.norm0.'):]
    if name.startswith('features.norm5.'):
        return f'transitions.{last_transition}.0.' + name[len('features.norm5.'):]
    match = _TORCHVISION_LAYER.match(name)
    if match:
        block, layer, rest = match.groups()
        return f'stages.{int(block) - 1}.block.{int(layer) - 1}.{rest}'
    match = _TORCHVISION_TRANSITION.match(name)
    if match:
        return f'transitions.{int(match.group(1)) - 1}.{match.group(2)}'
    return name


@MODELS.register_module()
class PretrainedDenseNet(DenseNet):
    """MMPretrain ``DenseNet`` that can start from a local ImageNet checkpoint (module docstring).

    Args:
        arch: ``'121'``, ``'169'``, ``'201'``, ``'161'`` or a dict (``growth_rate``, ``depths``,
            ``init_channels``), as for ``mmpretrain.models.DenseNet``.
        pretrained: path of the checkpoint, or None (default) to train from scratch.
        **kwargs: every other ``DenseNet`` argument.
    """

    def __init__(self, arch='121', pretrained: str | None = None, **kwargs):
        if pretrained is not None and not osp.isfile(pretrained):
            raise FileNotFoundError(
                f'model.backbone.pretrained={pretrained!r} does not exist (looked for at {osp.abspath(pretrained)}). '
                'Give the path of a local ImageNet DenseNet checkpoint (MMPretrain or torchvision; nothing is '
                'downloaded), or pretrained=None to train from scratch.')
        super().__init__(arch=arch, **kwargs)
        self.pretrained = pretrained

    def init_weights(self):
        if self.pretrained is None:
            super().init_weights()
            return
        rename = functools.partial(torchvision_densenet_key, last_transition=len(self.transitions) - 1)
        load_backbone_weights(self, self.pretrained, rename=rename, expected=ACCEPTED_KEYS)
        self._is_init = True
