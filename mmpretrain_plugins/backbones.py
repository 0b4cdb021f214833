"""ResNet with one configurable activation everywhere (spec 002 §2.4, Table 1).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Table 1's "Mish" models "change all the activation functions of the model to Mish". MMPretrain's
``ResNet`` has no ``act_cfg``: its blocks build ``ReLU`` from a default ``act_cfg`` that the
constructor does not pass on, and the 7x7 stem uses a bare ``nn.ReLU``. :class:`ActivationResNet`
therefore builds the plain ResNet and then replaces every ``nn.ReLU`` module by the configured
activation. Activations have no parameters, so the parameter count and the state-dict keys are
those of the plain ResNet: ImageNet ResNet-50 weights (torchvision or MMPretrain) load into the
Mish variant unchanged.

ImageNet initialisation (spec 002 §2.7 #6: the paper does not say; its Resize 232 / CenterCrop
224 / ImageNet mean-std are torchvision's ``IMAGENET1K_V2`` preset) is the ``pretrained``
argument: a local checkpoint path, ``None`` (default) = from scratch. Nothing is downloaded.
"""
from __future__ import annotations

import os.path as osp
import re

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmengine.logging import MMLogger
from mmpretrain.models import ResNet
from mmpretrain.registry import MODELS

from . import activations  # noqa: F401  (registers 'Mish' before a config asks for it)

# Prefixes under which a backbone's weights are stored: DDP ('module.'), an MMPretrain
# ImageClassifier ('backbone.'); torchvision's resnet50 state dict has none.
_KEY_PREFIXES = (r'^module\.', r'^backbone\.')


def replace_activations(module: nn.Module, act_cfg: dict, old: type = nn.ReLU) -> int:
    """Replace every ``old`` submodule of ``module`` by a new ``build_activation_layer(act_cfg)``.

    Returns the number replaced. A module instance used several times in ``forward`` (the
    Bottleneck's single ``relu``) is one submodule, so it is replaced once and every use
    gets the new activation.
    """
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, old):
            setattr(module, name, build_activation_layer(dict(act_cfg)))
            count += 1
        else:
            count += replace_activations(child, act_cfg, old)
    return count


@MODELS.register_module()
class ActivationResNet(ResNet):
    """MMPretrain ``ResNet`` whose every ReLU is ``act_cfg`` (Table 1: "Mish" or "ReLU").

    Args:
        depth: ResNet depth (50 in the paper; 18 in the tests for speed).
        act_cfg: activation config for ``mmcv.cnn.build_activation_layer``;
            ``dict(type='ReLU', inplace=True)`` (default) leaves the plain ResNet untouched.
            ``dict(type='Mish')`` is the paper's Mish variant (not in place: the autograd
            of an in-place Mish would need the overwritten input).
        pretrained: path of a local checkpoint to start from (ImageNet weights), or None to
            train from scratch. Accepted: a torchvision ``resnet50`` state dict, an
            MMPretrain/MMEngine checkpoint of a classifier (``state_dict`` with ``backbone.``
            keys) or of the backbone alone. The classifier head in it (``fc.``, ``head.``) is
            ignored. A missing file is an error at construction, naming the path.
        **kwargs: every other ``mmpretrain.models.ResNet`` argument.
    """

    def __init__(self, depth: int, act_cfg: dict | None = None, pretrained: str | None = None, **kwargs):
        if pretrained is not None and not osp.isfile(pretrained):
            raise FileNotFoundError(
                f'model.backbone.pretrained={pretrained!r} does not exist (looked for at {osp.abspath(pretrained)}). '
                'Give the path of a local ImageNet ResNet checkpoint (torchvision or MMPretrain; nothing is '
                'downloaded), or pretrained=None to train from scratch.')
        super().__init__(depth, **kwargs)
        self.act_cfg = dict(act_cfg) if act_cfg is not None else dict(type='ReLU', inplace=True)
        self.pretrained = pretrained
        self.num_replaced_activations = 0
        if self.act_cfg.get('type') not in ('ReLU', nn.ReLU):
            self.num_replaced_activations = replace_activations(self, self.act_cfg)

    def init_weights(self):
        if self.pretrained is None:
            super().init_weights()
            return
        # A checkpoint replaces MMPretrain's Kaiming init and its zero-init of the last norm
        # of every residual block (as ResNet.init_weights does for a 'Pretrained' init_cfg).
        load_backbone_weights(self, self.pretrained)
        self._is_init = True


def load_backbone_weights(backbone: nn.Module, path: str, rename=None, expected: str | None = None) -> dict:
    """Copy the weights of checkpoint ``path`` into ``backbone`` (see :class:`ActivationResNet`).

    ``rename`` (optional) maps each key, once its ``module.`` / ``backbone.`` prefix is removed,
    to the backbone's name for it (e.g. torchvision DenseNet -> MMPretrain DenseNet names);
    ``expected`` describes the accepted key names in the no-match error (default: ResNet's).

    Returns ``{'loaded': [...], 'missing': [...], 'ignored': [...]}`` key lists. Raises
    ValueError naming the file when no key matches the backbone or a shape differs (a
    checkpoint of another architecture); keys of the backbone that the file lacks are logged
    as a warning (they keep their fresh initialisation).
    """
    ckpt = torch.load(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt.get('model', ckpt)) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict or a checkpoint with a "state_dict", '
                         f'got {type(ckpt).__name__}')
    own = backbone.state_dict()
    renamed, ignored = {}, []
    for key, value in state.items():
        name = key
        for prefix in _KEY_PREFIXES:
            name = re.sub(prefix, '', name)
        if rename is not None:
            name = rename(name)
        if name in own:
            renamed[name] = value
        else:
            ignored.append(key)
    if not renamed:
        raise ValueError(f'{path}: no key matches the {type(backbone).__name__} backbone (first keys in the file: '
                         f'{list(state)[:5]}); expected ' + (expected or 'torchvision ResNet keys (conv1.weight, '
                         'layer1.0.conv1.weight, ...) or MMPretrain classifier keys (backbone.conv1.weight, ...)'))
    wrong = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}' for k, v in renamed.items()
             if tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise ValueError(f'{path}: {len(wrong)} weight shape(s) differ from the backbone (another depth?): '
                         + '; '.join(wrong[:5]))
    backbone.load_state_dict(renamed, strict=False)
    missing = sorted(set(own) - set(renamed))
    logger = MMLogger.get_current_instance()
    logger.info(f'backbone initialised from {path}: {len(renamed)} tensors loaded, {len(ignored)} ignored '
                f'(head or other modules)')
    if missing:
        logger.warning(f'{path} lacks {len(missing)} backbone tensors, left at their initial values: {missing[:8]}')
    return dict(loaded=sorted(renamed), missing=missing, ignored=ignored)
