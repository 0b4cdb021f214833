"""Share of CAM energy inside the nucleus mask, on maps worked out by hand."""
import math

import numpy as np
import pytest

from hemaseg.cam_energy import area_share, energy_inside, energy_stats, summarize_energy


def test_energy_by_hand():
    cam = np.array([[1.0, 2.0], [3.0, 4.0]])
    mask = np.array([[True, False], [False, True]])
    assert energy_inside(cam, mask) == pytest.approx((1 + 4) / 10)
    assert area_share(mask) == 0.5
    assert energy_stats(cam, mask)['lift'] == pytest.approx(0.5 / 0.5)


def test_uniform_cam_gives_the_area_share():
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True  # 6 of 20 pixels
    s = energy_stats(np.full((4, 5), 0.7), mask)
    assert s['energy_inside'] == pytest.approx(6 / 20)
    assert s['area_share'] == pytest.approx(6 / 20)
    assert s['lift'] == pytest.approx(1.0)


def test_cam_only_on_the_nucleus_and_only_off_it():
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    on = np.zeros((3, 3))
    on[1, 1] = 0.2
    assert energy_inside(on, mask) == 1.0
    assert energy_stats(on, mask)['lift'] == pytest.approx(9.0)
    assert energy_inside(1.0 - on.astype(bool), mask) == 0.0


def test_zero_cam_and_empty_mask():
    mask = np.ones((2, 2), bool)
    assert math.isnan(energy_inside(np.zeros((2, 2)), mask))
    empty = np.zeros((2, 2), bool)
    assert energy_inside(np.ones((2, 2)), empty) == 0.0
    assert math.isnan(energy_stats(np.ones((2, 2)), empty)['lift'])


def test_summary_skips_undefined_images():
    rows = [{'energy_inside': 0.2, 'area_share': 0.1, 'lift': 2.0},
            {'energy_inside': 0.6, 'area_share': 0.3, 'lift': 2.0},
            {'energy_inside': 1.0, 'area_share': 0.2, 'lift': 5.0},
            {'energy_inside': float('nan'), 'area_share': 0.4, 'lift': float('nan')}]
    s = summarize_energy(rows)
    assert s['n'] == 4 and s['n_undefined'] == 1
    assert s['mean_energy_inside'] == pytest.approx(0.6)
    assert s['median_energy_inside'] == pytest.approx(0.6)
    assert s['mean_area_share'] == pytest.approx(0.25)
    assert s['median_lift'] == pytest.approx(2.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match='non-negative'):
        energy_inside(np.array([[-0.1, 1.0]]), np.array([[True, False]]))
    with pytest.raises(ValueError, match='differs'):
        energy_inside(np.ones((2, 2)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match='boolean'):
        energy_inside(np.ones((2, 2)), np.ones((2, 2), np.uint8))
