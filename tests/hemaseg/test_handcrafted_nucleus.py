"""Spec 002 stage 1 without OpenMMLab: Algorithm 1 step by step (hemaseg.handcrafted), the
Eq. 12 ensemble, Specificity (Eq. 4), the CLI, and Dice on a few real images."""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage as ndi

from conftest import REPO_ROOT, SHARED
from hemaseg.data.io import read_image, read_mask, write_image
from hemaseg.handcrafted import (HandcraftedParams, apply_mask, area_opening, colour_constancy, ensemble_nucleus_mask,
                                 magenta_saturation, segment_nucleus_handcrafted)
from hemaseg.metrics import ConfusionCounts, confusion_counts, scores

PINK, PURPLE = (230, 190, 200), (110, 60, 150)


def disc(shape, centre, radius):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def smear(size=120, seed=0, hole=False):
    """Pink background with mild noise, a purple disc (r=25) and a purple speck (r=4, ~50 px)."""
    rng = np.random.default_rng(seed)
    img = np.empty((size, size, 3), np.float64)
    img[:] = PINK
    nucleus = disc(img.shape, (60, 55), 25)
    img[nucleus] = PURPLE
    if hole:  # a background-coloured hole inside the nucleus: filled by step 11
        img[disc(img.shape, (60, 55), 3)] = PINK
    img[disc(img.shape, (15, 105), 4)] = PURPLE
    img += rng.normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), nucleus


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


# --------------------------------------------------------------------------- steps of Algorithm 1

def test_colour_constancy_matches_hand_computation():
    img = np.array([[[100, 50, 20], [200, 150, 60]]], np.uint8)
    # grey (BT.601): 61.53 and 154.69 -> mean 108.11; channel means R 150, G 100, B 40
    # R: 100 * 108.11 / 150 = 72.07, 200 * .. = 144.15; G: 54.06, 162.17; B: 54.06, 162.17
    assert colour_constancy(img).tolist() == [[[72, 54, 54], [144, 162, 162]]]
    grey = np.full((3, 4, 3), 77, np.uint8)
    assert np.array_equal(colour_constancy(grey), grey)  # mean grey = every channel mean: gains 1
    blue_free = np.zeros((2, 2, 3), np.uint8)
    blue_free[..., 0], blue_free[..., 1] = 200, 100  # B mean 0: no division by zero, stays 0
    out = colour_constancy(blue_free)
    assert out[..., 2].max() == 0 and out.dtype == np.uint8
    assert out[0, 0, 0] == round(200 * (0.299 * 200 + 0.587 * 100) / 200)


def test_magenta_times_saturation_by_hand():
    img = np.array([[[204, 102, 255], [128, 64, 128], [255, 0, 0], [255, 255, 255], [0, 0, 0]]], np.uint8)
    # (204,102,255): v=1, G=.4, min=.4 -> M=.6, S=.6 -> .36*255 = 91.8; (128,64,128): M=S=.5 -> 63.75
    # pure red: M=S=1 -> 255; white and black: 0
    assert magenta_saturation(img).tolist() == [[92, 64, 255, 0, 0]]


def test_purple_disc_on_pink_background_is_the_mask():
    img, nucleus = smear()
    mask = segment_nucleus_handcrafted(img, HandcraftedParams(dilation=0))
    assert mask.dtype == bool and mask.shape == nucleus.shape
    assert iou(mask, nucleus) > 0.95
    assert not mask[5:25, 95:115].any()  # the ~50 px speck is below the 150 px area filter
    kept = segment_nucleus_handcrafted(img, HandcraftedParams(dilation=0, min_area=10))
    assert kept[15, 105]  # ... and is kept when the filter allows it


def test_hole_is_filled_and_dilation_adds_one_pixel_ring():
    img, nucleus = smear(hole=True)
    plain = segment_nucleus_handcrafted(img, HandcraftedParams(dilation=0))
    assert plain[58:63, 53:58].all()  # the pink hole in the nucleus is filled
    dilated = segment_nucleus_handcrafted(img)  # Table A1: dilation 2 (2x2 square)
    assert (dilated >= plain).all() and dilated.sum() > plain.sum()
    # every added pixel touches the undilated mask (one pixel of growth, not more)
    assert not (dilated & ~ndi.binary_dilation(plain, np.ones((3, 3), bool))).any()
    # a 2x2 square grows a disc of radius 25 by about one side of its perimeter: ~2 * 2r px
    assert 60 < dilated.sum() - plain.sum() < 160


def test_constant_image_gives_empty_mask_and_bad_input_is_named():
    assert not segment_nucleus_handcrafted(np.full((50, 50, 3), 128, np.uint8)).any()
    with pytest.raises(ValueError, match='HxWx3'):
        segment_nucleus_handcrafted(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        segment_nucleus_handcrafted(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match='dilation'):
        HandcraftedParams(dilation=-1)
    with pytest.raises(ValueError, match='closing_kernel'):
        HandcraftedParams(closing_kernel=2.5)


def test_area_opening_removes_small_4_connected_components():
    m = np.zeros((40, 60), bool)
    m[0:10, 0:15] = True            # 150 px: kept (>= min_area)
    m[20:30, 0:14] = True           # 140 px ...
    m[30, 0:9] = True               # ... + 9 = 149 px: removed
    m[12:22, 40:50] = True          # 100 px square touching another only at a corner: two 100 px
    m[22:32, 50:60] = True          # objects when 4-connected (one of 200 px if 8-connected)
    expected = np.zeros_like(m)
    expected[0:10, 0:15] = True
    out = area_opening(m, 150)
    assert np.array_equal(out, expected)
    assert area_opening(m, 0).sum() == m.sum()
    with pytest.raises(ValueError, match='2-D'):
        area_opening(np.zeros((2, 2, 2), bool), 1)
    with pytest.raises(ValueError, match='bool or integer'):
        area_opening(np.zeros((2, 2)), 1)


def test_ensemble_is_and_then_area_opening():
    hand = np.zeros((50, 50), bool)
    hand[5:25, 5:25] = True          # 400 px
    hand[30:45, 30:45] = True        # 225 px
    deep = np.zeros((50, 50), bool)
    deep[10:30, 10:30] = True        # overlaps the first: 15x15 = 225 px kept
    deep[40:49, 40:49] = True        # overlaps the second: 5x5 = 25 px, removed by the opening
    expected = np.zeros_like(hand)
    expected[10:25, 10:25] = True
    assert np.array_equal(ensemble_nucleus_mask(hand, deep), expected)
    assert np.array_equal(ensemble_nucleus_mask(hand.astype(np.uint8), deep.astype(np.int64), min_area=0),
                          hand & deep)
    with pytest.raises(ValueError, match='differs'):
        ensemble_nucleus_mask(hand, deep[:40])


def test_apply_mask_zeroes_the_rest():
    img, _ = smear()
    mask = np.zeros(img.shape[:2], bool)
    mask[10:20, 30:40] = True
    out = apply_mask(img, mask)
    assert np.array_equal(out[10:20, 30:40], img[10:20, 30:40]) and out.sum() == img[10:20, 30:40].sum()


def test_specificity_by_hand():
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0], [1, 1, 0, 0]])
    assert scores(confusion_counts(pred, gt))['Specificity'] == pytest.approx(3 / 4)  # tn 3, fp 1
    # 0/0: no negative pixel in the ground truth
    assert scores(ConfusionCounts(tp=4, fp=0, fn=0, tn=0))['Specificity'] == 1.0  # none predicted either
    assert scores(ConfusionCounts(tp=3, fp=0, fn=1, tn=0))['Specificity'] == 0.0  # one predicted negative
    assert scores(ConfusionCounts(tp=0, fp=0, fn=0, tn=0))['Specificity'] == 1.0  # every pixel ignored


def test_cross_validate_summarizes_specificity_and_extra_prediction_keys():
    from hemaseg import cross_validation as cv
    folds = {k: {'nucleus/mSpecificity': 0.9 + k / 100, 'nucleus/handcrafted_mDice': 0.8 + k / 100,
                 'nucleus/deep_Specificity': 0.7, 'nucleus/handcrafted_note': 1.0, 'coco/segm_mAP_copypaste': 2.0}
             for k in range(2)}
    s = cv.summarize(folds)
    assert set(s) == {'nucleus/mSpecificity', 'nucleus/handcrafted_mDice', 'nucleus/deep_Specificity'}
    assert s['nucleus/handcrafted_mDice']['mean'] == pytest.approx(0.805)


# --------------------------------------------------------------------------- CLI

def test_cli_writes_masks_overlays_and_names_bad_files(tmp_path):
    img_a, nucleus = smear(seed=1)
    img_b, _ = smear(seed=2)
    write_image(tmp_path / 'in' / 'a' / 'cell.png', img_a)
    write_image(tmp_path / 'in' / 'b' / 'cell.png', img_b)  # same stem: names must stay distinct
    (tmp_path / 'in' / 'broken.png').write_bytes(b'not an image')
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    cli = [sys.executable, osp.join(REPO_ROOT, 'tools', 'handcrafted_nucleus.py')]
    out, ov = tmp_path / 'masks', tmp_path / 'overlays'
    proc = subprocess.run([*cli, str(tmp_path / 'in' / 'a' / 'cell.png'), str(tmp_path / 'in' / 'b' / 'cell.png'),
                           str(tmp_path / 'in' / 'broken.png'), '--out', str(out), '--overlay-dir', str(ov),
                           '--no-dilation', '--progress-every', '1'], env=env, capture_output=True, text=True)
    # the rule of hemaseg.mask_folder (shared with tools/precompute_masks.py): the unreadable input is
    # named and counted, the others are written, and the exit status is 1
    assert proc.returncode == 1, proc.stderr
    assert 'broken.png' in proc.stderr and '1 input(s) failed' in proc.stderr and '[2/3]' in proc.stdout
    assert '2 mask(s) written' in proc.stdout
    masks = sorted(glob.glob(str(out / '**' / '*.png'), recursive=True))
    assert [osp.relpath(m, out) for m in masks] == [osp.join('a', 'cell.png'), osp.join('b', 'cell.png')]
    mask_a = read_mask(masks[0])
    assert set(np.unique(mask_a)) == {0, 255}
    assert iou(mask_a == 255, nucleus) > 0.95
    overlay = read_image(ov / 'a' / 'cell.png')
    assert overlay.shape == img_a.shape and (overlay != img_a).any()
    proc = subprocess.run([*cli, str(tmp_path / 'in' / 'broken.png'), '--out', str(tmp_path / 'none')], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and 'broken.png' in proc.stderr and not (tmp_path / 'none').exists()


# --------------------------------------------------------------------------- real images

def _wbc(subset):
    files = sorted(glob.glob(osp.join(SHARED, 'data', 'wbc_zheng2018', subset, '*.bmp')))[:5]
    return [(read_image(f), read_mask(f[:-4] + '.png') > 191) for f in files]  # 255 nucleus, 128 cytoplasm


def _all_idb2():
    root = osp.join(SHARED, 'data', 'all_idb2')
    out = []
    for f in sorted(glob.glob(osp.join(root, 'images', '*.tif')))[:5]:
        colours = read_image(osp.join(root, 'masks_putzu', osp.basename(f)))
        out.append((read_image(f), (colours == (0, 255, 255)).all(axis=2)))  # nucleus = cyan
    return out


# Mean Dice of the first 5 images measured with the Table A1 defaults (0.927, 0.976, 0.977),
# minus a margin of 0.03. Over all images: JTSC 0.935 (300), CellaVision 0.965 (100), ALL-IDB2 0.938 (260).
@pytest.mark.parametrize('name,load,floor', [('JTSC', lambda: _wbc('dataset1'), 0.90),
                                             ('CellaVision', lambda: _wbc('dataset2'), 0.946),
                                             ('ALL-IDB2', _all_idb2, 0.947)])
def test_dice_on_real_images(name, load, floor):
    if not osp.isdir(osp.join(SHARED, 'data')):
        pytest.skip(f'real data not found under {SHARED}/data')
    data = load()
    if len(data) < 5:
        pytest.skip(f'{name}: fewer than 5 images found under {SHARED}/data')
    masks = [(segment_nucleus_handcrafted(image), gt) for image, gt in data]
    dice = [2 * (m & gt).sum() / (m.sum() + gt.sum()) for m, gt in masks]
    assert np.mean(dice) > floor, f'{name}: per-image Dice {np.round(dice, 3).tolist()}'


def test_handcrafted_gate_removes_a_nucleus_predicted_on_a_red_cell():
    """A purple nucleus and a red cell, both predicted "nucleus": the gate keeps the first (cut to the
    handcrafted outline), removes the second, keeps other classes, and reports the counts."""
    from hemaseg.handcrafted import handcrafted_gate, segment_nucleus_handcrafted
    image = np.full((64, 64, 3), 235, np.uint8)
    image[10:30, 10:30] = (120, 40, 160)     # purple: stained nucleus
    image[40:60, 40:60] = (220, 120, 120)    # pink-red: erythrocyte
    prediction = np.zeros((64, 64), np.uint8)
    prediction[8:32, 8:32] = 1
    prediction[38:62, 38:62] = 1
    prediction[0:4, 60:64] = 2               # another class stays as it is
    gated, report = handcrafted_gate(image, prediction, label=1, min_area=150)
    hand = segment_nucleus_handcrafted(image)
    assert hand[20, 20] and not hand[50, 50]
    assert (gated == 1).sum() == (hand & (prediction == 1)).sum() > 0
    assert not (gated[38:62, 38:62] == 1).any()
    assert (gated[0:4, 60:64] == 2).all()
    assert (report.components_before, report.components_after, report.components_removed) == (2, 1, 1)
    assert (report.pixels_before, report.pixels_after) == (2 * 24 * 24, int((gated == 1).sum()))
    # area opening: a threshold above the surviving nucleus removes it too
    _, report = handcrafted_gate(image, prediction, label=1, min_area=10_000)
    assert (report.components_after, report.components_removed) == (0, 2)
    with pytest.raises(ValueError, match='prediction shape'):
        handcrafted_gate(image, prediction[:10], label=1)
