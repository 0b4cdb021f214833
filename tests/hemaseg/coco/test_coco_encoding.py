"""Mask -> COCO polygon/RLE -> pycocotools decode round trip (hemaseg.data.rle)."""
import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hemaseg.data.rle import encode_mask, mask_to_polygons, segmentation_to_rle


def _decode(segm, h, w):
    return mask_utils.decode(segmentation_to_rle(segm, h, w)).astype(bool)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def _masks():
    rng = np.random.default_rng(0)
    disk = np.zeros((120, 120), np.uint8)
    cv2.circle(disk, (60, 55), 40, 1, -1)
    blob = cv2.GaussianBlur(rng.random((90, 70)), (0, 0), 4) > 0.5  # irregular, several components
    diag = np.eye(12, dtype=bool)  # 8-connected pixels touching only at corners
    single = np.zeros((5, 7), bool)
    single[2, 3] = True
    border = np.zeros((30, 40), bool)
    border[:, :10] = True  # touches three image borders
    return {'disk': disk.astype(bool), 'blob': blob, 'diag': diag, 'single': single, 'border': border}


@pytest.mark.parametrize('name', list(_masks()))
@pytest.mark.parametrize('fmt', ['polygon', 'rle'])
def test_round_trip_is_exact(name, fmt):
    mask = _masks()[name]
    enc = encode_mask(mask, fmt)
    assert isinstance(enc.segmentation, list if fmt == 'polygon' else dict) and not enc.notes
    back = _decode(enc.segmentation, *mask.shape)
    assert _iou(back, mask) > 0.95
    assert np.array_equal(back, mask)  # pixel-edge outlines reproduce the mask exactly
    ys, xs = np.nonzero(mask)
    assert enc.area == mask.sum()
    assert enc.bbox == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_polygons_are_valid_coco():
    polygons, has_holes = mask_to_polygons(_masks()['blob'])
    assert not has_holes and len(polygons) > 1
    for poly in polygons:
        assert len(poly) >= 8 and len(poly) % 2 == 0  # at least a unit square
        assert all(isinstance(v, int) for v in poly)
        assert 0 <= min(poly[0::2]) and max(poly[0::2]) <= 70 and max(poly[1::2]) <= 90
    assert mask_to_polygons(_masks()['single'])[0] == [[3, 2, 3, 3, 4, 3, 4, 2]]


def test_holes_fall_back_to_rle():
    ring = np.zeros((40, 40), np.uint8)
    cv2.circle(ring, (20, 20), 15, 1, -1)
    cv2.circle(ring, (20, 20), 5, 0, -1)
    enc = encode_mask(ring.astype(bool), 'polygon')
    assert isinstance(enc.segmentation, dict) and enc.notes == ['mask has holes; written as RLE']
    assert np.array_equal(_decode(enc.segmentation, 40, 40), ring.astype(bool))
    with pytest.raises(ValueError, match='empty'):
        encode_mask(np.zeros((4, 4), bool))
