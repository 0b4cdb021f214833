"""Anchors, box coding, matching, cropping and Fast NMS of hemaseg.yolact (spec 001 §2.4)."""
import math

import pytest
import torch

from hemaseg.yolact import (box_iou, center_to_corners, crop_masks, decode_boxes, encode_boxes, fast_nms,
                            make_anchors, match_anchors)


def test_box_iou_hand_computed():
    a = torch.tensor([[0., 0., 2., 2.]])
    b = torch.tensor([[1., 1., 3., 3.], [0., 0., 2., 2.], [5., 5., 6., 6.]])
    assert torch.allclose(box_iou(a, b), torch.tensor([[1 / 7, 1.0, 0.0]]))


def test_anchor_layout_and_order():
    sizes = [(4, 6), (2, 3)]
    anchors = make_anchors(sizes, (40, 60), scales=(8, 16), aspect_ratios=(1.0, 0.5, 2.0))
    assert anchors.shape == ((4 * 6 + 2 * 3) * 3, 4)
    # First level: cell (row 1, col 2), ratio index 2 (ar = 2) -> index (1 * 6 + 2) * 3 + 2.
    cx, cy, w, h = anchors[(1 * 6 + 2) * 3 + 2].tolist()
    assert (cx, cy) == pytest.approx(((2 + 0.5) * 10, (1 + 0.5) * 10))
    assert (w, h) == pytest.approx((8 * math.sqrt(2), 8 / math.sqrt(2)))
    # Second level starts after 72 anchors; its first cell is centred at (10, 10).
    assert anchors[72, :2].tolist() == pytest.approx([10.0, 10.0])
    assert anchors[72, 2:].tolist() == pytest.approx([16.0, 16.0])


def test_square_anchor_quirk():
    anchors = make_anchors([(1, 1)], (10, 10), scales=(8,), aspect_ratios=(0.5, 2.0), square=True)
    assert torch.allclose(anchors[:, 2], anchors[:, 3])
    assert anchors[:, 2].tolist() == pytest.approx([8 * math.sqrt(0.5), 8 * math.sqrt(2)])


def test_anchor_scales_must_match_levels():
    with pytest.raises(ValueError, match='2 anchor scales for 1 feature levels'):
        make_anchors([(2, 2)], (8, 8), scales=(4, 8))


def test_encode_decode_round_trip():
    g = torch.Generator().manual_seed(0)
    anchors = torch.cat([torch.rand(50, 2, generator=g) * 100, torch.rand(50, 2, generator=g) * 40 + 5], dim=1)
    xy = torch.rand(50, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + torch.rand(50, 2, generator=g) * 50 + 1], dim=1)
    deltas = encode_boxes(boxes, anchors)
    assert torch.allclose(decode_boxes(deltas, anchors), boxes, atol=1e-3)
    # A box equal to its anchor encodes to zero offsets.
    assert torch.allclose(encode_boxes(center_to_corners(anchors), anchors), torch.zeros(50, 4), atol=1e-5)


def test_matching_thresholds_and_forced_best_anchor():
    gt = torch.tensor([[0., 0., 10., 10.], [100., 100., 110., 110.]])
    anchors = torch.tensor([
        [5., 5., 10., 10.],      # IoU 1 with gt 0 -> positive
        [5., 6.5, 10., 10.],     # IoU 0.74 -> positive
        [5., 9., 10., 10.],      # IoU 60/140 = 0.43 -> ignored
        [5., 15., 10., 10.],     # IoU 0 -> negative
        [105., 111., 10., 10.],  # IoU 40/160 = 0.25 with gt 1, its best anchor -> forced positive
    ])
    state, gt_index = match_anchors(anchors, gt)
    assert state.tolist() == [1, 1, -1, 0, 1]
    assert gt_index[[0, 1, 4]].tolist() == [0, 0, 1]


def test_matching_without_ground_truth_is_all_negative():
    state, _ = match_anchors(torch.tensor([[5., 5., 10., 10.]]), torch.zeros(0, 4))
    assert state.tolist() == [0]


def test_fast_nms_differs_from_greedy_nms():
    # B overlaps A (IoU 0.6), C overlaps B (IoU 0.6) but not A. Greedy NMS keeps A and C;
    # Fast NMS also drops C because a better box (B) overlaps it, even though B is dropped.
    boxes = torch.tensor([[0., 0., 10., 10.], [2.5, 0., 12.5, 10.], [5., 0., 15., 10.]])
    assert box_iou(boxes[:1], boxes[1:2]).item() == pytest.approx(0.6)
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert fast_nms(boxes, scores, iou_threshold=0.5).tolist() == [0]
    assert fast_nms(boxes, scores, iou_threshold=0.7).tolist() == [0, 1, 2]
    assert fast_nms(boxes, scores, iou_threshold=0.5, top_k=0).numel() == 0


def test_fast_nms_returns_by_decreasing_score_and_honours_top_k():
    boxes = torch.tensor([[0., 0., 1., 1.], [10., 10., 11., 11.], [20., 20., 21., 21.]])
    scores = torch.tensor([0.2, 0.9, 0.5])
    assert fast_nms(boxes, scores).tolist() == [1, 2, 0]
    assert fast_nms(boxes, scores, top_k=2).tolist() == [1, 2]


def test_crop_masks_keeps_pixels_whose_centre_is_inside():
    masks = torch.ones(2, 4, 4)
    out = crop_masks(masks, torch.tensor([[1., 1., 3., 3.], [2.2, 2.2, 2.4, 2.4]]))
    assert out[0].sum() == 4 and out[0, 1:3, 1:3].all()
    # A box narrower than a pixel keeps the pixel holding its centre.
    assert out[1].sum() == 1 and out[1, 2, 2] == 1
