"""hemaseg.viz: contours where the mask boundary is, legend, colour helpers."""
import numpy as np

from hemaseg.data.io import read_image
from hemaseg.viz import GT_COLOR, PRED_COLOR, colorize_mask, draw_contour_overlay, save_overlay, side_by_side


def _square(h, w, y0, y1, x0, x1, value=1):
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = value
    return m


def _is(img, color):
    return (img == np.array(color, np.uint8)).all(axis=2)


def test_contours_on_mask_boundary():
    image = np.full((100, 100, 3), 128, np.uint8)
    gt = _square(100, 100, 30, 70, 30, 70)
    pred = _square(100, 100, 40, 80, 40, 80)
    out = draw_contour_overlay(image, pred, gt, legend=False)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert image[0, 0].tolist() == [128, 128, 128]  # input untouched
    green, yellow = _is(out, GT_COLOR), _is(out, PRED_COLOR)
    assert green[30, 50] and green[50, 30] and green[69, 50] and not green[50, 50] and not green[10, 10]
    assert yellow[40, 60] and yellow[79, 60] and yellow[60, 79] and not yellow[60, 60]
    # every coloured pixel is on (or next to) a mask boundary
    edges = set(zip(*np.nonzero(green | yellow)))
    assert all(min(abs(y - b) for b in (30, 69, 40, 79)) <= 1 or min(abs(x - b) for b in (30, 69, 40, 79)) <= 1
               for y, x in edges)


def test_label_selects_class_and_legend_drawn():
    mask = _square(300, 300, 50, 250, 50, 250, value=1)
    mask[100:200, 100:200] = 2
    out = draw_contour_overlay(np.zeros((300, 300), np.uint8), mask, label=2)
    yellow = _is(out, PRED_COLOR)
    assert yellow[100, 150] and not yellow[50, 150]
    assert out[:20, :40].any()  # legend text in the corner


def test_save_overlay_creates_dirs(tmp_path):
    path = tmp_path / 'a/b/o.png'
    save_overlay(path, np.zeros((20, 20, 3), np.uint8), _square(20, 20, 5, 15, 5, 15), legend=False)
    assert _is(read_image(path), PRED_COLOR)[5, 10]


def test_colorize_and_side_by_side():
    mask = np.array([[0, 1], [2, 255]], np.uint8)
    col = colorize_mask(mask, [[0, 0, 0], [255, 0, 255], [0, 255, 255]])
    assert col[0, 1].tolist() == [255, 0, 255] and col[1, 1].tolist() == [255, 255, 255]
    panel = side_by_side([np.zeros((4, 3, 3), np.uint8), np.zeros((2, 5), np.uint8)], gap=2)
    assert panel.shape == (4, 3 + 2 + 5, 3) and (panel[:, 3:5] == 255).all()
