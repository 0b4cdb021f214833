"""R-Mask R-CNN's fusion mask head as a Detectron2 ``ROI_MASK_HEAD`` (spec 004 §2.2.8 (B)).

Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

Registration and config glue around :class:`hemaseg.blocks.mask_heads.SemanticFusionMaskHead`;
losses and inference are Detectron2's ``BaseMaskRCNNHead``. Keys: ``MODEL.ROI_MASK_HEAD.CONV_DIM``,
``NORM``, ``CLS_AGNOSTIC_MASK`` (standard) and ``FUSION_LEVELS`` (added by ``add_hemaseg_config``).
"""
from __future__ import annotations

from detectron2.config import configurable
from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling.roi_heads import ROI_MASK_HEAD_REGISTRY, BaseMaskRCNNHead

from hemaseg.blocks.mask_heads import SemanticFusionMaskHead as _SemanticFusionMaskHead


@ROI_MASK_HEAD_REGISTRY.register()
class SemanticFusionMaskHead(BaseMaskRCNNHead):
    """Mask head with an intra-RoI feature pyramid (hemaseg block) instead of the 4-conv stack."""

    @configurable
    def __init__(self, input_shape: ShapeSpec, *, num_classes: int, conv_dim: int, num_levels: int,
                 norm: str = "", **kwargs):
        super().__init__(**kwargs)
        norm_layer = (lambda c: get_norm(norm, c)) if norm else None
        self.body = _SemanticFusionMaskHead(input_shape.channels, conv_dim, num_classes, num_levels, norm_layer)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        m = cfg.MODEL.ROI_MASK_HEAD
        ret.update(input_shape=input_shape, conv_dim=m.CONV_DIM, num_levels=m.FUSION_LEVELS, norm=m.NORM,
                   num_classes=1 if m.CLS_AGNOSTIC_MASK else cfg.MODEL.ROI_HEADS.NUM_CLASSES)
        return ret

    def layers(self, x):
        return self.body(x)
