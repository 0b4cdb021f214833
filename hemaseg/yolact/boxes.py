"""Anchors, SSD box coding, matching, mask cropping and Fast NMS of YOLACT (spec 001 §2.4).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

Everything works in absolute pixel coordinates of the network input; boxes are
``(x1, y1, x2, y2)``, anchors ``(cx, cy, w, h)``. Plain PyTorch, no framework imports.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

# exp() of a box-size offset is clamped here, as in Detectron2 / mmdet, so a wild early
# prediction cannot overflow to inf.
_MAX_LOG_SCALE = math.log(1000.0 / 16)


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` x1y1x2y2 boxes -> ``(N, M)``."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]).clamp(min=0) * (boxes1[:, 3] - boxes1[:, 1]).clamp(min=0)
    area2 = (boxes2[:, 2] - boxes2[:, 0]).clamp(min=0) * (boxes2[:, 3] - boxes2[:, 1]).clamp(min=0)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    return inter / (area1[:, None] + area2[None, :] - inter).clamp(min=1e-6)


def center_to_corners(boxes: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``."""
    return torch.cat([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2], dim=-1)


def make_anchors(feature_sizes: Sequence[tuple[int, int]], image_size: tuple[int, int],
                 scales: Sequence[float], aspect_ratios: Sequence[float] = (1.0, 0.5, 2.0),
                 square: bool = False, device: torch.device | str | None = None) -> torch.Tensor:
    """YOLACT's priors: one scale per level, ``len(aspect_ratios)`` boxes per location.

    Centres are ``((x + 0.5) / w_l * W, (y + 0.5) / h_l * H)``, so they follow the real level
    sizes (69, 35, 18, 9, 5 at 550) rather than a nominal stride. Sizes are
    ``w = s * sqrt(ar)``, ``h = s / sqrt(ar)``; ``square=True`` reproduces the reference code's
    ``use_square_anchors`` quirk (``h = w``). Order: level, row, column, ratio, matching the
    prediction head's ``permute(0, 2, 3, 1)`` flattening.

    Returns ``(num_anchors, 4)`` anchors as ``(cx, cy, w, h)`` in pixels.
    """
    if len(scales) != len(feature_sizes):
        raise ValueError(f'{len(scales)} anchor scales for {len(feature_sizes)} feature levels')
    height, width = image_size
    out = []
    for (fh, fw), scale in zip(feature_sizes, scales):
        ys = (torch.arange(fh, dtype=torch.float32, device=device) + 0.5) * (height / fh)
        xs = (torch.arange(fw, dtype=torch.float32, device=device) + 0.5) * (width / fw)
        cy, cx = torch.meshgrid(ys, xs, indexing='ij')
        sizes = []
        for ar in aspect_ratios:
            w = scale * math.sqrt(ar)
            sizes.append((w, w if square else scale / math.sqrt(ar)))
        wh = torch.tensor(sizes, dtype=torch.float32, device=device)  # (a, 2)
        centres = torch.stack([cx, cy], dim=-1)[:, :, None, :].expand(fh, fw, len(sizes), 2)
        out.append(torch.cat([centres, wh.expand(fh, fw, -1, -1)], dim=-1).reshape(-1, 4))
    return torch.cat(out, dim=0)


def encode_boxes(boxes: torch.Tensor, anchors: torch.Tensor,
                 variances: tuple[float, float] = (0.1, 0.2)) -> torch.Tensor:
    """SSD offsets of x1y1x2y2 ``boxes`` w.r.t. ``(cx, cy, w, h)`` anchors (same length)."""
    wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1e-3)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    d_xy = (centre - anchors[:, :2]) / (variances[0] * anchors[:, 2:])
    d_wh = torch.log(wh / anchors[:, 2:]) / variances[1]
    return torch.cat([d_xy, d_wh], dim=1)


def decode_boxes(deltas: torch.Tensor, anchors: torch.Tensor,
                 variances: tuple[float, float] = (0.1, 0.2)) -> torch.Tensor:
    """Inverse of :func:`encode_boxes`: offsets ``(..., 4)`` -> x1y1x2y2 boxes."""
    centre = anchors[..., :2] + deltas[..., :2] * variances[0] * anchors[..., 2:]
    wh = anchors[..., 2:] * torch.exp((deltas[..., 2:] * variances[1]).clamp(max=_MAX_LOG_SCALE))
    return center_to_corners(torch.cat([centre, wh], dim=-1))


def match_anchors(anchors: torch.Tensor, gt_boxes: torch.Tensor, pos_iou: float = 0.5,
                  neg_iou: float = 0.4) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign every anchor to a ground-truth box (spec 001 §2.4, YOLACT's ``match``).

    Positive: IoU >= ``pos_iou``, and each GT's best anchor regardless of its IoU (so that no
    GT is left unmatched); negative: IoU < ``neg_iou``; in between: ignored.

    Returns ``(state, gt_index)`` per anchor: ``state`` 1 positive, 0 negative, -1 ignored;
    ``gt_index`` the matched GT (meaningful for positives only).
    """
    num_anchors = anchors.shape[0]
    if gt_boxes.numel() == 0:
        return (torch.zeros(num_anchors, dtype=torch.long, device=anchors.device),
                torch.zeros(num_anchors, dtype=torch.long, device=anchors.device))
    iou = box_iou(center_to_corners(anchors), gt_boxes)  # (A, G)
    best_iou, gt_index = iou.max(dim=1)
    best_anchor = iou.argmax(dim=0)  # (G,)
    # Later GTs win ties over the same anchor, as in the reference loop.
    best_iou[best_anchor] = 2.0
    gt_index[best_anchor] = torch.arange(gt_boxes.shape[0], device=anchors.device)
    state = torch.full((num_anchors,), -1, dtype=torch.long, device=anchors.device)
    state[best_iou < neg_iou] = 0
    state[best_iou >= pos_iou] = 1
    return state, gt_index


def crop_masks(masks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Zero ``(N, H, W)`` masks outside ``(N, 4)`` x1y1x2y2 boxes given in mask pixels.

    A pixel is kept when its centre lies inside the box; at least the pixel holding the box
    centre survives, so a tiny box never yields an empty crop.
    """
    n, h, w = masks.shape
    if n == 0:
        return masks
    xs = torch.arange(w, device=masks.device, dtype=masks.dtype) + 0.5
    ys = torch.arange(h, device=masks.device, dtype=masks.dtype) + 0.5
    x1, y1, x2, y2 = boxes.to(masks.dtype).unbind(dim=1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    # Widen degenerate boxes to one pixel around their centre.
    x1, x2 = torch.minimum(x1, cx.floor()), torch.maximum(x2, cx.floor() + 1)
    y1, y2 = torch.minimum(y1, cy.floor()), torch.maximum(y2, cy.floor() + 1)
    inside_x = (xs[None] >= x1[:, None]) & (xs[None] < x2[:, None])
    inside_y = (ys[None] >= y1[:, None]) & (ys[None] < y2[:, None])
    return masks * (inside_y[:, :, None] & inside_x[:, None, :]).to(masks.dtype)


def fast_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5,
             top_k: int = 200) -> torch.Tensor:
    """YOLACT's Fast NMS for one class: indices of the boxes kept, by decreasing score.

    Keep the ``top_k`` best boxes, then drop every box whose IoU with *any* higher-scoring box
    exceeds ``iou_threshold`` (even if that box is itself dropped): one matrix operation
    instead of the sequential loop of standard NMS (YOLACT §3.3).
    """
    order = scores.argsort(descending=True)[:top_k]
    if order.numel() == 0:
        return order
    iou = box_iou(boxes[order], boxes[order]).triu(diagonal=1)
    max_iou_with_better = iou.max(dim=0).values
    return order[max_iou_with_better <= iou_threshold]
