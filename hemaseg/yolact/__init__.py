"""YOLACT (Bolya et al., ICCV 2019) heads, losses and Fast NMS in plain PyTorch (spec 001 §2.4, §3).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

Used by the Detectron2 YOLACT meta-architecture (:mod:`det2_plugins.meta_arch`); the OpenMMLab
side uses mmdet's own ``YOLACTHead`` / ``YOLACTProtonet``.
"""
from .boxes import (box_iou, center_to_corners, crop_masks, decode_boxes, encode_boxes, fast_nms, make_anchors,
                    match_anchors)
from .head import DEFAULT_LOSS_WEIGHTS, PredictionHead, Protonet, YOLACTHead

__all__ = ['box_iou', 'center_to_corners', 'crop_masks', 'decode_boxes', 'encode_boxes', 'fast_nms', 'make_anchors',
           'match_anchors', 'DEFAULT_LOSS_WEIGHTS', 'PredictionHead', 'Protonet', 'YOLACTHead']
