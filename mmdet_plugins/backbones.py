"""Ghost-ResNet (spec 001 §2.1) as an mmdet backbone.

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

Only registration and argument glue: every layer is :class:`hemaseg.blocks.ghost.GhostResNet`.
The class *is* a hemaseg ``GhostResNet`` (same module tree, same state-dict keys), so a
checkpoint of the plain-PyTorch backbone loads into the mmdet one unchanged, e.g. with
``init_cfg=dict(type='Pretrained', checkpoint='/path/to/ghost_resnet50_s4.pth')``.
"""
from __future__ import annotations

import copy
from typing import Sequence

from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from hemaseg.blocks.ghost import GhostResNet as _GhostResNet


def norm_layer_from_cfg(norm_cfg: dict | None):
    """``norm_cfg`` (mmcv style, e.g. ``dict(type='BN', requires_grad=True)``) -> ``norm_layer(channels)``.

    ``None`` returns ``None`` (no normalisation), which hemaseg's necks understand as "conv with bias".
    """
    if norm_cfg is None:
        return None
    cfg = copy.deepcopy(dict(norm_cfg))

    def norm_layer(channels: int):
        return build_norm_layer(cfg, channels)[1]

    return norm_layer


@MODELS.register_module()
class GhostResNet(_GhostResNet, BaseModule):
    """Ghost-ResNet backbone of YOLACT-CIS with mmdet-style arguments.

    Args:
        depth: 50 or 101 (ResNet layouts 3-4-6-3 / 3-4-23-3); the paper uses 50.
        ghost_ratio: the paper's adjustment factor S (4); ``None`` gives a plain ResNet
            (with hemaseg's layout: stride in the 3x3, plain projection shortcuts).
        dw_size: kernel of the Ghost modules' cheap depth-wise op (3).
        in_channels: image channels.
        out_indices: stages to return, 0..3 = C2..C5 (strides 4, 8, 16, 32). YOLACT-CIS uses
            ``(1, 2, 3)`` (C3..C5, spec 001 §2.2).
        frozen_stages: -1 none; 0 the stem; i > 0 the stem and stages 1..i (as mmdet's ResNet).
        norm_cfg: mmcv norm config of every norm layer, e.g. ``dict(type='BN', requires_grad=True)``,
            ``dict(type='SyncBN')`` or ``dict(type='GN', num_groups=32)``.
        norm_eval: keep BN layers in eval mode during training.
        init_cfg: mmengine init config; ``None`` keeps hemaseg's Kaiming init (training from
            scratch: there are no public ImageNet weights for Ghost-ResNet). To start from a local
            checkpoint of this backbone: ``dict(type='Pretrained', checkpoint='/path/to/ckpt.pth')``
            (add ``prefix='backbone.'`` when the file is a whole-detector checkpoint).

    ``forward`` returns a tuple of the maps selected by ``out_indices``, finest first.
    """

    arch_settings = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

    def __init__(self, depth: int = 50, ghost_ratio: int | None = 4, dw_size: int = 3, in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3), frozen_stages: int = -1,
                 norm_cfg: dict | None = dict(type='BN', requires_grad=True), norm_eval: bool = False,
                 init_cfg: dict | list | None = None):
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for GhostResNet, choose from {sorted(self.arch_settings)}')
        if norm_cfg is None:
            raise ValueError('GhostResNet needs a norm layer (norm_cfg=None is not supported)')
        # MRO: hemaseg GhostResNet -> BaseModule -> nn.Module; hemaseg's super().__init__()
        # runs BaseModule.__init__ with init_cfg=None, set the real one afterwards.
        super().__init__(self.arch_settings[depth], ghost_ratio=ghost_ratio, dw_size=dw_size,
                         in_channels=in_channels, num_classes=0, out_indices=out_indices,
                         frozen_stages=frozen_stages, norm_eval=norm_eval,
                         norm_layer=norm_layer_from_cfg(norm_cfg))
        self.init_cfg = copy.deepcopy(init_cfg)
        self.depth = depth
