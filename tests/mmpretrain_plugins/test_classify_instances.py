"""DeepBCSDnet's last stage (spec 004 §2.3): detections -> classifier inputs (masked image or cell
crops) -> class probabilities -> image-level scores (hemaseg/instance_classification.py and
tools/classify_instances.py). Expected inputs and aggregations are computed by hand; the tool's
scores are compared with the classifier run through its config's own file pipeline
(LoadImageFromFile + MaskOutsideNucleus on hand-written masks), so the in-memory masking must equal
the training-time one. A subprocess run chains a real (tiny, untrained) R-Mask R-CNN and
tools/precompute_masks.py writes its union masks."""
import csv
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_tool, run_tool
from hemaseg.instance_classification import (NO_CELL, aggregate, box_window, classifier_inputs, classify_detections,
                                             decide, draw_classified_overlay, union_mask)
from hemaseg.instance_inference import InstancePrediction

DET_CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'r_mask_rcnn_r18_tiny.py')
CLS_CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'densenet_all_vs_mm_tiny.py')
TOOL = osp.join(REPO_ROOT, 'tools', 'classify_instances.py')


def rect(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def prediction(masks, boxes, scores):
    masks = np.array(masks, bool).reshape(len(scores), *(np.shape(masks)[1:] if len(scores) else (0, 0)))
    return InstancePrediction(masks, np.array(boxes, float).reshape(-1, 4), np.array(scores, float),
                              np.zeros(len(scores), int))


# --------------------------------------------------------------------------- framework-free part
def test_mask_mode_keeps_only_the_union_of_the_cells():
    rng = np.random.default_rng(0)
    img = rng.integers(1, 256, (20, 30, 3), dtype=np.uint8)  # no zero pixel: a kept pixel stays non-zero
    a, b = rect((20, 30), 2, 9, 3, 12), rect((20, 30), 6, 15, 10, 25)  # overlapping
    pred = prediction([a, b], [[3, 2, 12, 9], [10, 6, 25, 15]], [0.9, 0.8])
    (out, ) = classifier_inputs(img, pred, 'mask')
    for y in range(20):
        for x in range(30):
            inside = (2 <= y < 9 and 3 <= x < 12) or (6 <= y < 15 and 10 <= x < 25)
            assert (out[y, x] == (img[y, x] if inside else 0)).all(), (y, x)
    assert out.dtype == img.dtype and img.min() > 0  # the input is untouched
    assert union_mask(np.zeros((0, 20, 30), bool), (20, 30)).shape == (20, 30)
    with pytest.raises(ValueError, match='20x30'):
        union_mask(np.zeros((1, 10, 10), bool), (20, 30))


def test_crop_mode_takes_every_pixel_each_box_touches():
    img = np.arange(20 * 30 * 3, dtype=np.int32).reshape(20, 30, 3)
    boxes = [[2.3, 3.7, 10.2, 8.0],    # x 2..10.2 -> columns 2..10, y 3.7..8 -> rows 3..7
             [-5, -4, 4.5, 3],         # clipped at the top-left corner
             [35, 25, 40, 31],         # beyond the bottom-right corner: the last pixel
             [5, 5, 5, 5]]             # degenerate: one pixel
    expected = [img[3:8, 2:11], img[0:3, 0:5], img[19:20, 29:30], img[5:6, 5:6]]
    pred = prediction(np.zeros((4, 20, 30)), boxes, [0.9, 0.8, 0.7, 0.6])
    crops = classifier_inputs(img, pred, 'crop')
    assert len(crops) == 4
    for crop, want in zip(crops, expected):
        assert crop.shape == want.shape and (crop == want).all()
    assert box_window([2.3, 3.7, 10.2, 8.0], (20, 30)) == (3, 8, 2, 11)
    with pytest.raises(ValueError, match='non-finite'):
        box_window([0, 0, float('nan'), 4], (20, 30))


def test_aggregations_by_hand():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    np.testing.assert_allclose(aggregate(probs, 'mean'), [1.7 / 3, 1.3 / 3])
    np.testing.assert_allclose(aggregate(probs, 'max'), [0.9, 0.8])
    np.testing.assert_allclose(aggregate(probs, 'vote'), [2 / 3, 1 / 3])
    # mean and max disagree: one very sure class-1 cell against two fairly sure class-0 ones
    probs = np.array([[0.8, 0.2], [0.8, 0.2], [0.1, 0.9]])
    np.testing.assert_allclose(aggregate(probs, 'mean'), [1.7 / 3, 1.3 / 3])  # -> class 0
    np.testing.assert_allclose(aggregate(probs, 'max'), [0.8, 0.9])  # -> class 1
    assert decide(aggregate(probs, 'mean')) == 0 and decide(aggregate(probs, 'max')) == 1
    # vote ties are broken by the mean probability
    assert decide(aggregate(np.array([[0.9, 0.1], [0.4, 0.6]]), 'vote'), np.array([[0.9, 0.1], [0.4, 0.6]]),
                  'vote') == 0
    tie = np.array([[0.55, 0.45], [0.1, 0.9]])
    assert decide(aggregate(tie, 'vote'), tie, 'vote') == 1
    assert decide(np.array([0.5, 0.5])) == 0  # equal scores: the lower index
    with pytest.raises(ValueError, match='N >= 1'):
        aggregate(np.zeros((0, 2)), 'mean')
    with pytest.raises(ValueError, match='aggregation'):
        aggregate(probs, 'median')


def brightness_classifier(inputs):
    """A stand-in classifier: p(class 1) = mean pixel value / 255."""
    p1 = np.array([float(x.mean()) / 255 for x in inputs])
    return np.stack([1 - p1, p1], axis=1)


def test_classify_detections_per_mode_and_without_cells():
    img = np.zeros((40, 60, 3), np.uint8)
    img[5:15, 5:25] = 220   # cell A, 10 x 20
    img[20:30, 30:40] = 50  # cell B, 10 x 10
    pred = prediction([rect((40, 60), 5, 15, 5, 25), rect((40, 60), 20, 30, 30, 40)],
                      [[5, 5, 25, 15], [30, 20, 40, 30]], [0.9, 0.7])
    names = ('ALL', 'MM')
    crop = classify_detections(img, pred, brightness_classifier, names, 'crop', 'mean', name='x.png')
    p_a, p_b = 220 / 255, 50 / 255  # mean p(MM) = 135 / 255 > 0.5
    np.testing.assert_allclose(crop.cell_probs, [[1 - p_a, p_a], [1 - p_b, p_b]])
    np.testing.assert_allclose(crop.scores, [1 - (p_a + p_b) / 2, (p_a + p_b) / 2])
    assert crop.n_cells == 2 and crop.predicted == 'MM' and crop.image == 'x.png'
    vote = classify_detections(img, pred, brightness_classifier, names, 'crop', 'vote')
    np.testing.assert_allclose(vote.scores, [0.5, 0.5])  # A says MM, B says ALL; mean breaks the tie
    assert vote.predicted == 'MM'
    mask = classify_detections(img, pred, brightness_classifier, names, 'mask', 'vote')  # no aggregation
    p = (200 * 220 + 100 * 50) / (40 * 60) / 255  # whole masked image, black outside the cells
    np.testing.assert_allclose(mask.scores, [1 - p, p])
    assert mask.predicted == 'ALL' and mask.cell_probs.shape == (1, 2) and mask.n_cells == 2

    def must_not_run(inputs):
        raise AssertionError('the classifier must not run without detections')

    empty = classify_detections(img, prediction([], [], []), must_not_run, names, 'mask')
    assert (empty.predicted, empty.n_cells, empty.scores) == (NO_CELL, 0, None)
    overlay = draw_classified_overlay(img, pred, crop, names, 'crop')
    assert overlay.shape == img.shape and not (overlay == img).all()
    with pytest.raises(ValueError, match='shape'):
        classify_detections(img, pred, lambda xs: np.ones((len(xs), 3)) / 3, names, 'crop')


# --------------------------------------------------------------------------- the tool, fake detector
@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    pytest.importorskip('mmpretrain', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
    from cls_fixtures import save_random_checkpoint
    path = str(tmp_path_factory.mktemp('cls') / 'densenet_all_vs_mm_tiny.pth')
    rng = np.random.default_rng(1)
    save_random_checkpoint(CLS_CONFIG, path, seed=0,
                           calibrate_images=[rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(4)])
    return path


def scores_through_the_file_pipeline(checkpoint, root, rel, mask):
    """Softmax scores of the classifier for <root>/images/<rel> with <root>/cell_masks/<rel> = ``mask``,
    through the config's test pipeline from the file (LoadImageFromFile + MaskOutsideNucleus + resize
    + pad) and the model's predict mode: the training-time path, independent of the tool's."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(CLS_CONFIG)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    target = osp.join(root, 'cell_masks', osp.splitext(rel)[0] + '.png')
    os.makedirs(osp.dirname(target), exist_ok=True)
    cv2.imwrite(target, mask.astype(np.uint8) * 255)
    data = Compose(cfg.test_dataloader.dataset.pipeline)({'img_path': osp.join(root, 'images', rel)})
    with torch.no_grad():
        return model.test_step(pseudo_collate([data]))[0].pred_score.numpy()


def write_rgb(path, rgb):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, rgb[:, :, ::-1])


@pytest.mark.parametrize('mode', ['mask', 'crop'])
def test_tool_with_injected_detections(mode, classifier, tmp_path, monkeypatch, capsys):
    classify_instances = load_tool('classify_instances')
    rng = np.random.default_rng(2)
    root = str(tmp_path / 'ds')
    big = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)  # two cells
    small = rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)  # none detected
    write_rgb(osp.join(root, 'images', 'ALL', 'big.png'), big)
    write_rgb(osp.join(root, 'images', 'ALL', 'small.png'), small)
    broken = osp.join(root, 'images', 'ALL', 'broken.png')
    open(broken, 'wb').write(b'not an image')
    a, b = rect((40, 48), 4, 20, 6, 30), rect((40, 48), 22, 36, 20, 44)
    detections = {(40, 48): prediction([a, b, rect((40, 48), 0, 5, 0, 5)], [[6, 4, 30, 20], [20, 22, 44, 36],
                                                                            [0, 0, 5, 5]], [0.9, 0.6, 0.2]),
                  (36, 44): prediction([rect((36, 44), 0, 9, 0, 9)], [[0, 0, 9, 9]], [0.3])}

    def fake_predictor(config, checkpoint, device):
        assert config.default_scope == 'mmdet' and checkpoint == DET_CONFIG
        return lambda rgb: detections[rgb.shape[:2]]

    monkeypatch.setattr(classify_instances, 'mmdet_predictor', fake_predictor)
    out = str(tmp_path / 'out')
    with pytest.raises(SystemExit) as e:  # the unreadable image: exit status 1 after the others
        classify_instances.main([DET_CONFIG, DET_CONFIG, CLS_CONFIG, classifier, osp.join(root, 'images', 'ALL'),
                                 '--mode', mode, '--aggregate', 'max', '--score-thr', '0.5', '--out', out,
                                 '--save-inputs'])
    assert e.value.code == 1
    captured = capsys.readouterr()
    err = captured.err
    assert 'broken.png' in err and '1 input(s) failed' in err
    assert "MaskOutsideNucleus step is replaced by the masks of the detected cells" in captured.out

    # expected scores, computed through the classifier's own file pipeline on hand-made inputs
    ref = str(tmp_path / 'ref')
    if mode == 'mask':  # the image itself with the union mask of the two kept cells (0.2 is below 0.5)
        write_rgb(osp.join(ref, 'images', 'ALL', 'big.png'), big)
        expected = scores_through_the_file_pipeline(classifier, ref, 'ALL/big.png', a | b)
    else:  # each kept box cropped by hand, an all-ones mask (no masking), then the per-class max
        cells = []
        for k, crop in enumerate([big[4:20, 6:30], big[22:36, 20:44]]):
            write_rgb(osp.join(ref, 'images', 'ALL', f'cell{k}.png'), crop)
            cells.append(scores_through_the_file_pipeline(classifier, ref, f'ALL/cell{k}.png',
                                                          np.ones(crop.shape[:2], bool)))
        expected = np.max(cells, axis=0)
    with open(osp.join(out, 'predictions.csv')) as f:
        rows = {osp.basename(r['image']): r for r in csv.DictReader(f)}
    assert list(rows) == ['big.png', 'small.png']
    got = np.array([float(rows['big.png']['score_ALL']), float(rows['big.png']['score_MM'])])
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert rows['big.png']['n_cells'] == '2' and rows['big.png']['predicted'] == ('ALL', 'MM')[int(expected.argmax())]
    assert rows['small.png'] == {'image': osp.join(root, 'images', 'ALL', 'small.png'), 'n_cells': '0',
                                      'score_ALL': '', 'score_MM': '', 'predicted': NO_CELL}
    info = json.load(open(osp.join(out, 'summary.json')))
    assert info['mode'] == mode and info['classes'] == ['ALL', 'MM'] and info['num_images'] == 2
    assert info['predicted_counts'][NO_CELL] == 1 and sum(info['predicted_counts'].values()) == 2
    assert info['failed'][0]['image'] == broken
    assert len(info['images'][0]['input_probabilities']) == (1 if mode == 'mask' else 2)
    assert osp.isfile(osp.join(out, 'overlays', 'big.png')) and osp.isfile(osp.join(out, 'overlays', 'small.png'))
    saved = osp.join(out, 'inputs', 'big.png') if mode == 'mask' else osp.join(out, 'inputs', 'big', 'cell_001.png')
    want = np.where((a | b)[..., None], big, 0) if mode == 'mask' else big[22:36, 20:44]
    assert (cv2.imread(saved)[:, :, ::-1] == want).all()


def test_classifier_on_arrays_matches_the_classifier_on_files(classifier, tmp_path):
    """mmpretrain_plugins.apis.Classifier.classify_arrays (what the tool runs on masked images and crops)
    gives the probabilities of the same Classifier on the file (LoadImageFromFile + MaskOutsideNucleus),
    and of the config's own file pipeline, for the image masked in memory and the mask on disk."""
    from mmengine.config import Config

    from mmpretrain_plugins.apis import Classifier
    clf = Classifier(Config.fromfile(CLS_CONFIG), classifier)
    assert clf.array_dropped == ['LoadImageFromFile', 'MaskOutsideNucleus']
    assert 'MaskOutsideNucleus' not in clf.array_steps and clf.output_names() == ['ALL', 'MM']
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    mask = rect((40, 48), 5, 30, 8, 40)
    root = str(tmp_path / 'ds')
    write_rgb(osp.join(root, 'images', 'ALL', 'x.png'), img)
    reference = scores_through_the_file_pipeline(classifier, root, 'ALL/x.png', mask)  # writes the mask too
    from_file = clf.probabilities(clf.preprocess(osp.join(root, 'images', 'ALL', 'x.png'))[0])
    from_array = clf.classify_arrays([np.where(mask[..., None], img, 0)])
    assert from_array.shape == (1, 2)
    np.testing.assert_allclose(from_array[0], from_file, atol=2e-6)
    np.testing.assert_allclose(from_array[0], reference, atol=2e-6)


def test_tool_refuses_a_segmentation_config_as_detector(classifier, tmp_path):
    classify_instances = load_tool('classify_instances')
    img = str(tmp_path / 'x.png')
    cv2.imwrite(img, np.zeros((8, 8, 3), np.uint8))
    seg_config = osp.join(REPO_ROOT, 'tests', 'configs', 'all_fabnet_tiny.py')
    with pytest.raises(SystemExit, match='not an MMDetection config'):
        classify_instances.main([seg_config, classifier, CLS_CONFIG, classifier, img])


# --------------------------------------------------------------------------- a real detector
@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    """The tiny R-Mask R-CNN (ResNet-18) with its initial random weights saved as a checkpoint, and
    three synthetic 96x96 fields with a few purple 'cells'."""
    pytest.importorskip('mmdet', reason='mmdet is not installed (see tools/setup_env.sh)')
    pytest.importorskip('mmcv.ops', reason='mmcv was built without its compiled ops')
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmdet_plugins  # noqa: F401
    from mmdet.registry import MODELS
    root = tmp_path_factory.mktemp('fields')
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(DET_CONFIG).model)
        model.init_weights()
    ckpt = str(root / 'r_mask_rcnn_r18_init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': ('cell', )}}}, ckpt)
    rng = np.random.default_rng(3)
    for cls in ('ALL', 'MM'):
        for i in range(2 if cls == 'ALL' else 1):
            img = np.full((96, 96, 3), (225, 190, 205), np.uint8)
            for _ in range(3):
                c = tuple(int(v) for v in rng.integers(15, 81, 2))
                cv2.circle(img, c, int(rng.integers(8, 14)), (150, 70, 120), -1)
            write_rgb(str(root / 'images' / cls / f'{cls}_{i}.png'), img)
    return str(root), ckpt


def test_cli_runs_a_real_detector_end_to_end(detector, classifier, tmp_path):
    root, det_ckpt = detector
    out = str(tmp_path / 'out')
    proc = run_tool([TOOL, DET_CONFIG, det_ckpt, CLS_CONFIG, classifier, osp.join(root, 'images', 'ALL'),
                     osp.join(root, 'images', 'MM'), '--mode', 'crop', '--aggregate', 'vote', '--score-thr', '0.0',
                     '--out', out, '--save-inputs'])
    assert '[3/3]' in proc.stdout
    with open(osp.join(out, 'predictions.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [osp.basename(r['image']) for r in rows] == ['ALL_0.png', 'ALL_1.png', 'MM_0.png']
    for r in rows:
        n = int(r['n_cells'])
        stem = osp.splitext(osp.basename(r['image']))[0]
        crops = osp.join(out, 'inputs', stem)
        assert n == (len(os.listdir(crops)) if osp.isdir(crops) else 0)
        if n == 0:
            assert r['predicted'] == NO_CELL
            continue
        votes = np.array([float(r['score_ALL']), float(r['score_MM'])])
        assert np.isclose(votes.sum(), 1) and np.allclose(votes * n, np.round(votes * n), atol=1e-4)
        assert r['predicted'] in ('ALL', 'MM')
        assert osp.isfile(osp.join(out, 'overlays', f'{stem}.png'))
    info = json.load(open(osp.join(out, 'summary.json')))
    assert info['aggregation'] == 'vote' and info['failed'] == []


def test_precompute_masks_joins_the_instances_of_an_mmdet_model(detector, tmp_path):
    """--method deep with an mmdet config: each mask is the union of the instances scoring >= --score-thr,
    checked against mmdet's own inference_detector on the same images."""
    import shutil

    from mmdet.apis import inference_detector, init_detector

    precompute_masks = load_tool('precompute_masks')
    root = str(tmp_path / 'ds')
    shutil.copytree(detector[0], root)
    thr = 0.05
    precompute_masks.main([root, '--method', 'deep', '--config', DET_CONFIG, '--checkpoint', detector[1],
                           '--mask-dir-name', 'cell_masks', '--score-thr', str(thr)])
    meta = json.load(open(osp.join(root, 'cell_masks', 'meta.json')))
    assert meta['settings']['score_thr'] == thr and meta['complete']
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CONFIG)
    cfg.test_dataloader.dataset.pipeline = [t for t in cfg.test_dataloader.dataset.pipeline
                                            if t['type'] != 'LoadAnnotations']
    model = init_detector(cfg, detector[1], device='cpu')
    n_nonempty = 0
    for rel in ('ALL/ALL_0.png', 'ALL/ALL_1.png', 'MM/MM_0.png'):
        inst = inference_detector(model, osp.join(root, 'images', rel)).pred_instances
        keep = inst.scores.numpy() >= thr
        expected = inst.masks.numpy()[keep].any(axis=0) if keep.any() else np.zeros((96, 96), bool)
        got = cv2.imread(osp.join(root, 'cell_masks', osp.splitext(rel)[0] + '.png'), cv2.IMREAD_UNCHANGED) > 0
        assert (got == expected).all(), rel
        n_nonempty += int(expected.any())
    assert n_nonempty > 0  # the comparison is not all-empty vs all-empty
    with pytest.raises(SystemExit, match='--label'):
        precompute_masks.main([root, '--method', 'deep', '--config', DET_CONFIG, '--checkpoint', detector[1],
                               '--mask-dir-name', 'cell_masks', '--label', 'cell', '--overwrite'])
