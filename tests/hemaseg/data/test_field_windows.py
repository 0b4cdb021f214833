"""Training windows like whole-field inference's (hemaseg.data.field_windows, mmseg RandomFieldWindow)."""
import numpy as np
import pytest

from hemaseg.data.field_windows import sample_field_window

IGNORE = 255


def single_cell(size=300, nucleus=(110, 190)):
    """A light image with a dark square nucleus (label 1) and a red-cell patch (label 2) in a corner."""
    image = np.full((size, size, 3), 220, np.uint8)
    mask = np.zeros((size, size), np.uint8)
    a, b = nucleus
    image[a:b, a:b] = (90, 30, 120)
    mask[a:b, a:b] = 1
    image[10:60, 10:60] = (200, 90, 90)
    mask[10:60, 10:60] = 2
    return image, mask


def test_windows_at_scale_one_are_the_image_or_ignored():
    """Without rescaling, every window pixel is the source pixel at its place, or fill / ignore beyond it."""
    image, mask = single_cell()
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = sample_field_window(rng, image, mask, (128, 96), scale=1.0, scale_jitter=1.0, empty_prob=0.5)
        assert w.image.shape == (128, 96, 3) and w.mask.shape == (128, 96) and w.scale == (1.0, 1.0)
        y, x = w.origin
        ys, xs = np.mgrid[y:y + 128, x:x + 96]
        inside = (ys >= 0) & (ys < 300) & (xs >= 0) & (xs < 300)
        assert inside.mean() >= 0.25
        np.testing.assert_array_equal(w.mask[inside], mask[ys[inside], xs[inside]])
        np.testing.assert_array_equal(w.image[inside], image[ys[inside], xs[inside]])
        assert (w.mask[~inside] == IGNORE).all() and (w.image[~inside] == 220).all()  # border median
        assert w.empty == (not (w.mask == 1).any())


def test_share_of_empty_windows_follows_empty_prob_and_cells_move():
    image, mask = single_cell()
    rng = np.random.default_rng(1)
    windows = [sample_field_window(rng, image, mask, (128, 128), empty_prob=0.3) for _ in range(600)]
    wanted = np.mean([w.wanted_empty for w in windows])
    assert abs(wanted - 0.3) < 0.06
    assert all(not w.empty for w in windows if not w.wanted_empty)  # nucleus windows hold a nucleus
    assert np.mean([w.empty for w in windows if w.wanted_empty]) > 0.6  # most asked-for empty windows are
    # the nucleus is not always in the centre: its centroid moves over most of the window
    centroids = np.array([np.argwhere(w.mask == 1).mean(0) for w in windows if not w.empty])
    assert centroids.std(0).min() > 20 and np.ptp(centroids, 0).min() > 80
    # per-image scale: 128 / 300, jittered within 1.25x
    scales = np.array([w.scale[0] for w in windows])
    assert scales.min() >= 128 / 300 / 1.25 - 1e-9 and scales.max() <= 128 / 300 * 1.25 + 1e-9
    assert np.ptp(scales) > 0.5 * (128 / 300) * (1.25 - 1 / 1.25)


def test_fixed_scale_and_a_small_image_without_room_for_an_empty_window():
    image, mask = single_cell(size=120, nucleus=(20, 100))
    rng = np.random.default_rng(2)
    w = sample_field_window(rng, image, mask, (64, 64), scale=2.0, scale_jitter=1.0, empty_prob=0.0)
    assert w.scale == (2.0, 2.0) and (w.mask == 1).any()
    # the nucleus covers most of the image: an empty window is asked for, none exists, and it says so
    windows = [sample_field_window(rng, image, mask, (128, 128), empty_prob=1.0, min_overlap=0.9) for _ in range(5)]
    assert all(w.wanted_empty and not w.empty for w in windows)


def test_images_without_nucleus_and_bad_arguments():
    image, mask = single_cell()
    mask[mask == 1] = 0
    w = sample_field_window(np.random.default_rng(3), image, mask, (64, 64), empty_prob=0.0)
    assert w.empty
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='differ in size'):
        sample_field_window(rng, image, mask[:10], (64, 64))
    with pytest.raises(ValueError, match='window size must be positive'):
        sample_field_window(rng, image, mask, (0, 64))
    with pytest.raises(ValueError, match='scale_jitter >= 1'):
        sample_field_window(rng, image, mask, (64, 64), scale_jitter=0.5)
    with pytest.raises(ValueError, match='empty_prob'):
        sample_field_window(rng, image, mask, (64, 64), empty_prob=1.5)


def test_mmseg_transform_builds_checks_and_fills_the_results():
    pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
    import mmseg_plugins  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmseg.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmseg'):
        t = TRANSFORMS.build(dict(type='RandomFieldWindow', crop_size=(64, 80), empty_prob=0.5))
        with pytest.raises(ValueError, match='empty_prob'):
            TRANSFORMS.build(dict(type='RandomFieldWindow', crop_size=64, empty_prob=-0.1))
    image, mask = single_cell()
    np.random.seed(0)
    out = t(dict(img=image, gt_seg_map=mask, img_path='x.png'))
    assert out['img'].shape == (64, 80, 3) and out['gt_seg_map'].shape == (64, 80) and out['img_shape'] == (64, 80)
    assert out['field_window_empty'] == (not (out['gt_seg_map'] == 1).any())
    with pytest.raises(KeyError, match='after LoadAnnotations .*x.png'):
        t(dict(img=image, img_path='x.png'))
