"""R-Mask R-CNN's fusion mask head for mmdet (spec 004 §2.2.8 (B)): registration and glue only.

Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

The layers are :class:`hemaseg.blocks.mask_heads.SemanticFusionMaskHead`; targets, loss and
mask pasting are mmdet's ``FCNMaskHead`` (this class only replaces its conv stack, upsampling and
predictor, so ``num_convs``/``upsample_cfg`` are not arguments).
"""
from __future__ import annotations

from torch import Tensor

from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.registry import MODELS

from hemaseg.blocks.mask_heads import SemanticFusionMaskHead as _SemanticFusionMaskHead

from .backbones import norm_layer_from_cfg


@MODELS.register_module()
class SemanticFusionMaskHead(FCNMaskHead):
    """Mask head with an intra-RoI feature pyramid.

    Args:
        num_levels: pyramid levels inside the RoI (3: 14, 7, 4 for 14 x 14 RoI features).
        in_channels, conv_out_channels, num_classes, class_agnostic, norm_cfg, loss_mask,
        roi_feat_size: as for mmdet's ``FCNMaskHead``.
    """

    def __init__(self, num_levels: int = 3, in_channels: int = 256, conv_out_channels: int = 256,
                 num_classes: int = 80, class_agnostic: bool = False, norm_cfg: dict | None = None, **kwargs):
        for unused in ('num_convs', 'upsample_cfg', 'conv_kernel_size', 'predictor_cfg'):
            if unused in kwargs:
                raise TypeError(f'SemanticFusionMaskHead does not take {unused!r} (its layers are fixed)')
        # No conv stack, upsampling or predictor of FCNMaskHead: the hemaseg block has its own.
        super().__init__(num_convs=0, in_channels=in_channels, conv_out_channels=conv_out_channels,
                         num_classes=num_classes, class_agnostic=class_agnostic, norm_cfg=norm_cfg,
                         upsample_cfg=dict(type=None), **kwargs)
        self.conv_logits = None
        self.body = _SemanticFusionMaskHead(in_channels, conv_out_channels,
                                            1 if class_agnostic else num_classes, num_levels,
                                            norm_layer_from_cfg(norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)
