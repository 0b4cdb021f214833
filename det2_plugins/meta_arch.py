"""YOLACT as a Detectron2 meta-architecture (Detectron2 ships none).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

Glue only: image normalisation and batching, Instances <-> tensors, and rescaling of the
results to the original image size. The head, losses, anchors and Fast NMS are
:class:`hemaseg.yolact.YOLACTHead` (spec 001 §2.4, §3). ``YOLACT-CIS`` is this meta-architecture
on ``build_ghost_resnet_dffn_backbone``; plain YOLACT-R50 is the same with ``GHOST_RESNET.RATIO 0``
and ``DFFN.BOTTOM_UP/ATTENTION False``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, Backbone, build_backbone
from detectron2.structures import BitMasks, Boxes, ImageList, Instances, PolygonMasks

from hemaseg.yolact import YOLACTHead


@META_ARCH_REGISTRY.register()
class YOLACT(nn.Module):
    """Single-stage instance segmentation with prototypes and mask coefficients (YOLACT / YOLACT-CIS).

    Args:
        backbone: a Detectron2 backbone producing every name in ``in_features`` and ``proto_feature``.
        head: the plain-PyTorch :class:`YOLACTHead`.
        in_features: prediction levels, finest first (``n3``..``n7``).
        proto_feature: the prototype source (``proto`` = N3 before DDAM).
        pixel_mean, pixel_std: input normalisation, in ``INPUT.FORMAT`` channel order.
        mask_threshold: binarisation of the predicted mask probabilities at the output size.
    """

    @configurable
    def __init__(self, *, backbone: Backbone, head: YOLACTHead, in_features, proto_feature: str,
                 pixel_mean, pixel_std, mask_threshold: float = 0.5):
        super().__init__()
        shapes = backbone.output_shape()
        missing = [f for f in [*in_features, proto_feature] if f not in shapes]
        if missing:
            raise ValueError(f"MODEL.YOLACT.IN_FEATURES / PROTO_FEATURE name {missing}, but the backbone "
                             f"outputs {sorted(shapes)}")
        self.backbone, self.head = backbone, head
        self.in_features, self.proto_feature = list(in_features), proto_feature
        self.mask_threshold = mask_threshold
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        y = cfg.MODEL.YOLACT
        head = YOLACTHead(
            num_classes=y.NUM_CLASSES, in_channels=backbone.output_shape()[y.IN_FEATURES[0]].channels,
            num_levels=len(y.IN_FEATURES), num_prototypes=y.NUM_PROTOTYPES, anchor_scales=y.ANCHOR_SCALES,
            aspect_ratios=y.ASPECT_RATIOS, square_anchors=y.SQUARE_ANCHORS, semantic_branch=y.SEMANTIC_BRANCH,
            pos_iou=y.POS_IOU, neg_iou=y.NEG_IOU, neg_pos_ratio=y.NEG_POS_RATIO, masks_to_train=y.MASKS_TO_TRAIN,
            loss_weights={"cls": y.LOSS_WEIGHT_CLS, "box": y.LOSS_WEIGHT_BOX, "mask": y.LOSS_WEIGHT_MASK,
                          "semantic": y.LOSS_WEIGHT_SEMANTIC},
            score_threshold=y.SCORE_THRESH_TEST, nms_threshold=y.NMS_THRESH_TEST, top_k=y.TOP_K_TEST,
            max_detections=y.DETECTIONS_PER_IMAGE)
        return {"backbone": backbone, "head": head, "in_features": y.IN_FEATURES, "proto_feature": y.PROTO_FEATURE,
                "pixel_mean": cfg.MODEL.PIXEL_MEAN, "pixel_std": cfg.MODEL.PIXEL_STD,
                "mask_threshold": y.MASK_THRESH_TEST}

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def preprocess_image(self, batched_inputs) -> ImageList:
        images = [(x["image"].to(self.device) - self.pixel_mean) / self.pixel_std for x in batched_inputs]
        return ImageList.from_tensors(images, self.backbone.size_divisibility)

    def forward(self, batched_inputs):
        images = self.preprocess_image(batched_inputs)
        feats = self.backbone(images.tensor)
        outputs = self.head([feats[f] for f in self.in_features], feats[self.proto_feature],
                            tuple(images.tensor.shape[-2:]))
        if self.training:
            if any("instances" not in x for x in batched_inputs):
                raise ValueError("YOLACT training needs 'instances' in every input dict "
                                 "(use a mapper with use_instance_mask=True)")
            padded = tuple(images.tensor.shape[-2:])
            targets = [self._targets(x["instances"].to(self.device), padded) for x in batched_inputs]
            return self.head.loss(outputs, targets)
        results = self.head.predict(outputs, images.image_sizes)
        return [{"instances": self._to_instances(r, x.get("height", size[0]), x.get("width", size[1]), size)}
                for r, x, size in zip(results, batched_inputs, images.image_sizes)]

    @staticmethod
    def _targets(instances: Instances, padded_size: tuple[int, int]) -> dict:
        """Instances at the resized image size -> the head's target dict at the padded size."""
        h, w = instances.image_size
        if not instances.has("gt_masks"):
            raise ValueError("YOLACT needs instance masks: set MODEL.MASK_ON True so the mapper keeps them")
        masks = instances.gt_masks
        if isinstance(masks, PolygonMasks):
            masks = BitMasks.from_polygon_masks(masks, h, w)
        masks = masks.tensor if isinstance(masks, BitMasks) else masks
        masks = F.pad(masks.to(torch.uint8), (0, padded_size[1] - w, 0, padded_size[0] - h))
        return {"boxes": instances.gt_boxes.tensor, "labels": instances.gt_classes, "masks": masks}

    def _to_instances(self, result: dict, out_h: int, out_w: int, in_size: tuple[int, int]) -> Instances:
        """Rescale from the network input size to the requested output size (the original image)."""
        scale_x, scale_y = out_w / in_size[1], out_h / in_size[0]
        boxes = result["boxes"] * result["boxes"].new_tensor([scale_x, scale_y, scale_x, scale_y])
        masks = result["masks"]
        if masks.shape[0]:
            masks = F.interpolate(masks[None], size=(out_h, out_w), mode="bilinear", align_corners=False)[0]
        else:
            masks = masks.new_zeros(0, out_h, out_w)
        inst = Instances((out_h, out_w))
        inst.pred_boxes = Boxes(boxes)
        inst.pred_boxes.clip((out_h, out_w))
        inst.scores = result["scores"]
        inst.pred_classes = result["labels"]
        inst.pred_masks = masks > self.mask_threshold
        return inst
