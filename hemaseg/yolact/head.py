"""YOLACT's heads, losses and post-processing (spec 001 §2.4, §3) in plain PyTorch.

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

Detectron2 has no YOLACT, so :mod:`det2_plugins` wraps this module in a meta-architecture;
it takes the neck's levels (prediction head input) and the prototype source separately, which
is what YOLACT-CIS needs (DDAM(N3..N7) for the head, N3 before DDAM for the protonet).

Defaults are the reference YOLACT's (``yolact_resnet50_config``), which the paper does not
restate: 32 prototypes, 3 anchors per location with scales 24..384 px at 550, SSD offsets
with variances (0.1, 0.2), IoU 0.5 / 0.4 matching, OHEM 3:1, loss weights 1 / 1.5 / 6.125 / 1,
Fast NMS with IoU 0.5, score 0.05, top 200 per class and 100 detections.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .boxes import crop_masks, decode_boxes, encode_boxes, fast_nms, make_anchors, match_anchors

DEFAULT_LOSS_WEIGHTS = {'cls': 1.0, 'box': 1.5, 'mask': 6.125, 'semantic': 1.0}


def _xavier(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class Protonet(nn.Module):
    """3 x [3x3 conv + ReLU] -> bilinear x2 -> 3x3 conv + ReLU -> 1x1 conv to k prototypes -> ReLU.

    138 x 138 prototypes from a 69 x 69 P3 at 550 input (spec 001 §2.4).
    """

    def __init__(self, in_channels: int = 256, channels: int = 256, num_prototypes: int = 32):
        super().__init__()
        self.before = nn.Sequential(*[m for i in range(3) for m in (
            nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1), nn.ReLU(inplace=True))])
        self.after = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                   nn.Conv2d(channels, num_prototypes, 1), nn.ReLU(inplace=True))
        _xavier(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.before(x), scale_factor=2.0, mode='bilinear', align_corners=False)
        return self.after(x)


class PredictionHead(nn.Module):
    """Head shared by all levels: 3x3 conv + ReLU, then class, box and (tanh) coefficient convs."""

    def __init__(self, num_classes: int, in_channels: int = 256, num_anchors: int = 3, num_prototypes: int = 32):
        super().__init__()
        self.num_classes, self.num_anchors, self.num_prototypes = num_classes, num_anchors, num_prototypes
        self.upfront = nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1), nn.ReLU(inplace=True))
        self.cls = nn.Conv2d(in_channels, num_anchors * (num_classes + 1), 3, padding=1)
        self.box = nn.Conv2d(in_channels, num_anchors * 4, 3, padding=1)
        self.coef = nn.Conv2d(in_channels, num_anchors * num_prototypes, 3, padding=1)
        _xavier(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, C, h, w)`` -> class logits ``(B, h*w*a, c+1)``, offsets ``(B, h*w*a, 4)``, coefficients ``(B, h*w*a, k)``."""
        x = self.upfront(x)
        b = x.shape[0]

        def flat(t: torch.Tensor, n: int) -> torch.Tensor:
            return t.permute(0, 2, 3, 1).reshape(b, -1, n)

        return (flat(self.cls(x), self.num_classes + 1), flat(self.box(x), 4),
                torch.tanh(flat(self.coef(x), self.num_prototypes)))


class YOLACTHead(nn.Module):
    """Protonet + prediction head + semantic branch, with YOLACT's losses and inference.

    Args:
        num_classes: foreground classes (1 for WBC).
        in_channels: channels of every input level.
        num_levels: number of prediction levels (5: N3..N7).
        num_prototypes: k (32).
        anchor_scales: one anchor size per level, in input pixels (24..384 at 550 input: scale
            them with the input size).
        aspect_ratios: anchors per location (1, 1/2, 2).
        square_anchors: the reference code's square-anchor quirk (spec 001 §2.4).
        semantic_branch: the training-only 1x1 semantic segmentation conv on the prototype source.
        pos_iou, neg_iou: anchor matching thresholds.
        neg_pos_ratio: OHEM negatives per positive.
        masks_to_train: at most this many positive anchors per image in the mask loss.
        loss_weights: ``cls``, ``box``, ``mask``, ``semantic`` weights.
        score_threshold, nms_threshold, top_k, max_detections: inference (Fast NMS).
        variances: SSD box-coding variances.
    """

    def __init__(self, num_classes: int, in_channels: int = 256, num_levels: int = 5, num_prototypes: int = 32,
                 anchor_scales: Sequence[float] = (24, 48, 96, 192, 384),
                 aspect_ratios: Sequence[float] = (1.0, 0.5, 2.0), square_anchors: bool = False,
                 semantic_branch: bool = True, pos_iou: float = 0.5, neg_iou: float = 0.4,
                 neg_pos_ratio: float = 3.0, masks_to_train: int = 100,
                 loss_weights: Mapping[str, float] | None = None, score_threshold: float = 0.05,
                 nms_threshold: float = 0.5, top_k: int = 200, max_detections: int = 100,
                 variances: tuple[float, float] = (0.1, 0.2)):
        super().__init__()
        if len(anchor_scales) != num_levels:
            raise ValueError(f'anchor_scales has {len(anchor_scales)} entries for {num_levels} levels')
        unknown = set(loss_weights or {}) - set(DEFAULT_LOSS_WEIGHTS)
        if unknown:
            raise ValueError(f'unknown loss weights {sorted(unknown)}; expected {sorted(DEFAULT_LOSS_WEIGHTS)}')
        self.num_classes, self.num_levels = num_classes, num_levels
        self.anchor_scales, self.aspect_ratios = tuple(anchor_scales), tuple(aspect_ratios)
        self.square_anchors = square_anchors
        self.pos_iou, self.neg_iou, self.neg_pos_ratio = pos_iou, neg_iou, neg_pos_ratio
        self.masks_to_train = masks_to_train
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(loss_weights or {})}
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold
        self.top_k, self.max_detections, self.variances = top_k, max_detections, tuple(variances)
        self.protonet = Protonet(in_channels, in_channels, num_prototypes)
        self.prediction = PredictionHead(num_classes, in_channels, len(aspect_ratios), num_prototypes)
        self.semantic = nn.Conv2d(in_channels, num_classes, 1) if semantic_branch else None
        self._anchor_cache: dict[tuple, torch.Tensor] = {}

    # ------------------------------------------------------------------ forward
    def anchors(self, feats: Sequence[torch.Tensor], image_size: tuple[int, int]) -> torch.Tensor:
        sizes = tuple(tuple(f.shape[-2:]) for f in feats)
        key = (sizes, tuple(image_size), str(feats[0].device))
        if key not in self._anchor_cache:
            self._anchor_cache[key] = make_anchors(sizes, image_size, self.anchor_scales, self.aspect_ratios,
                                                   self.square_anchors, device=feats[0].device)
        return self._anchor_cache[key]

    def forward(self, feats: Sequence[torch.Tensor], proto_feat: torch.Tensor,
                image_size: tuple[int, int]) -> dict:
        """Raw outputs for a batch whose (padded) input is ``image_size`` = (H, W)."""
        if len(feats) != self.num_levels:
            raise ValueError(f'YOLACTHead expects {self.num_levels} levels, got {len(feats)}')
        cls, box, coef = (torch.cat(t, dim=1) for t in zip(*(self.prediction(f) for f in feats)))
        semantic = self.semantic(proto_feat) if (self.semantic is not None and self.training) else None
        return {'cls': cls, 'box': box, 'coef': coef, 'proto': self.protonet(proto_feat),
                'semantic': semantic, 'anchors': self.anchors(feats, image_size), 'image_size': tuple(image_size)}

    # ------------------------------------------------------------------ losses
    def loss(self, outputs: Mapping[str, torch.Tensor | None],
             targets: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """YOLACT's losses (spec 001 §3).

        ``targets[i]``: ``boxes`` (G, 4) x1y1x2y2 input pixels, ``labels`` (G,) in
        ``[0, num_classes)``, ``masks`` (G, H, W) binary at the padded input size.
        """
        cls, box, coef, proto = outputs['cls'], outputs['box'], outputs['coef'], outputs['proto']
        anchors = outputs['anchors']
        height, width = (int(v) for v in outputs['image_size'])
        if len(targets) != cls.shape[0]:
            raise ValueError(f'{len(targets)} targets for a batch of {cls.shape[0]}')
        ph, pw = proto.shape[-2:]
        scale = torch.tensor([pw / width, ph / height, pw / width, ph / height], device=proto.device)
        loss_cls = cls.new_zeros(())
        loss_box = cls.new_zeros(())
        loss_mask = cls.new_zeros(())
        num_pos = 0
        for i, t in enumerate(targets):
            gt_boxes, gt_labels = t['boxes'].to(cls.device, torch.float32), t['labels'].to(cls.device)
            state, gt_index = match_anchors(anchors, gt_boxes, self.pos_iou, self.neg_iou)
            pos = torch.nonzero(state == 1).squeeze(1)
            num_pos += pos.numel()
            # Class loss with online hard negative mining: the negatives with the highest
            # background loss, neg_pos_ratio per positive.
            target_cls = torch.zeros_like(state)
            if pos.numel():
                target_cls[pos] = gt_labels[gt_index[pos]] + 1
            with torch.no_grad():
                bg_loss = torch.logsumexp(cls[i], dim=1) - cls[i, :, 0]
                bg_loss[state != 0] = -1.0
                num_neg = min(int(self.neg_pos_ratio * pos.numel()), int((state == 0).sum()))
                neg = bg_loss.topk(num_neg).indices if num_neg else pos.new_zeros(0)
            chosen = torch.cat([pos, neg])
            loss_cls = loss_cls + F.cross_entropy(cls[i, chosen], target_cls[chosen], reduction='sum')
            if not pos.numel():
                continue
            matched = gt_boxes[gt_index[pos]]
            loss_box = loss_box + F.smooth_l1_loss(box[i, pos], encode_boxes(matched, anchors[pos], self.variances),
                                                   beta=1.0, reduction='sum')
            # Mask loss on at most masks_to_train positives: BCE of the assembled mask, cropped
            # with the GT box, normalised by the box area in prototype pixels.
            mask_pos = pos
            if pos.numel() > self.masks_to_train:
                mask_pos = pos[torch.randperm(pos.numel(), device=pos.device)[:self.masks_to_train]]
            gt_masks = t['masks'].to(proto.device, torch.float32)
            gt_masks = F.interpolate(gt_masks[None], size=(ph, pw), mode='bilinear', align_corners=False)[0]
            gt_masks = (gt_masks > 0.5).to(proto.dtype)
            idx = gt_index[mask_pos]
            logits = torch.einsum('khw,nk->nhw', proto[i], coef[i, mask_pos])
            boxes_p = gt_boxes[idx] * scale
            bce = crop_masks(F.binary_cross_entropy_with_logits(logits, gt_masks[idx], reduction='none'), boxes_p)
            area = ((boxes_p[:, 2] - boxes_p[:, 0]) * (boxes_p[:, 3] - boxes_p[:, 1])).clamp(min=1.0)
            loss_mask = loss_mask + (bce.sum(dim=(1, 2)) / area).sum()
        denom = max(num_pos, 1)
        w = self.loss_weights
        losses = {'loss_cls': w['cls'] * loss_cls / denom, 'loss_box': w['box'] * loss_box / denom,
                  'loss_mask': w['mask'] * loss_mask / denom}
        if outputs.get('semantic') is not None:
            losses['loss_semantic'] = w['semantic'] * self._semantic_loss(outputs['semantic'], targets)
        return losses

    def _semantic_loss(self, logits: torch.Tensor, targets: Sequence[Mapping[str, torch.Tensor]]) -> torch.Tensor:
        """BCE of the semantic branch against each class's union of GT masks, / (h*w) / batch."""
        b, c, h, w = logits.shape
        target = logits.new_zeros(b, c, h, w)
        for i, t in enumerate(targets):
            if t['masks'].numel() == 0:
                continue
            masks = F.interpolate(t['masks'].to(logits.device, torch.float32)[None], size=(h, w),
                                  mode='bilinear', align_corners=False)[0] > 0.5
            for label in t['labels'].unique():
                target[i, int(label)] = masks[t['labels'].to(logits.device) == label].any(dim=0).to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, target, reduction='sum') / (h * w) / b

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def predict(self, outputs: Mapping[str, torch.Tensor | None],
                valid_sizes: Sequence[tuple[int, int]] | None = None) -> list[dict[str, torch.Tensor]]:
        """Detections per image: ``boxes`` (N, 4) input pixels, ``scores``, ``labels`` (0-based),
        ``masks`` (N, h, w) probabilities at input resolution, cropped by the predicted box and
        restricted to the image's un-padded ``valid_sizes[i]`` = (h, w)."""
        cls, box, coef, proto, anchors = (outputs[k] for k in ('cls', 'box', 'coef', 'proto', 'anchors'))
        height, width = (int(v) for v in outputs['image_size'])
        ph, pw = proto.shape[-2:]
        results = []
        for i in range(cls.shape[0]):
            h, w = valid_sizes[i] if valid_sizes is not None else (height, width)
            scores_all = cls[i].softmax(dim=1)[:, 1:]
            boxes_all = decode_boxes(box[i], anchors, self.variances)
            keep_boxes, keep_scores, keep_labels, keep_idx = [], [], [], []
            for c in range(self.num_classes):
                cand = torch.nonzero(scores_all[:, c] > self.score_threshold).squeeze(1)
                kept = cand[fast_nms(boxes_all[cand], scores_all[cand, c], self.nms_threshold, self.top_k)]
                keep_idx.append(kept)
                keep_boxes.append(boxes_all[kept])
                keep_scores.append(scores_all[kept, c])
                keep_labels.append(torch.full_like(kept, c))
            scores = torch.cat(keep_scores)
            order = scores.argsort(descending=True)[:self.max_detections]
            idx = torch.cat(keep_idx)[order]
            boxes = torch.cat(keep_boxes)[order]
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
            scale = boxes.new_tensor([pw / width, ph / height, pw / width, ph / height])
            masks = torch.einsum('khw,nk->nhw', proto[i], coef[i, idx]).sigmoid()
            masks = crop_masks(masks, boxes * scale)
            if masks.shape[0]:
                masks = F.interpolate(masks[None], size=(height, width), mode='bilinear',
                                      align_corners=False)[0][:, :h, :w]
            else:
                masks = masks.new_zeros(0, h, w)
            results.append({'boxes': boxes, 'scores': scores[order], 'labels': torch.cat(keep_labels)[order],
                            'masks': masks})
        return results
