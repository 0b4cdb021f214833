"""Classifier data path and metrics of spec 002: the MaskOutsideNucleus hard attention, the
dataset class, the augmentation pipeline, the mask check before a run, and the classification
report (Eqs. 1-5) against hand-computed confusion matrices and scikit-learn."""
import argparse
import csv
import json
import os
import os.path as osp
from fractions import Fraction as F

import cv2
import numpy as np
import pytest

from hemaseg.classification_metrics import (classification_report, confusion_matrix, format_confusion_table,
                                            mean_cross_entropy)

from conftest import REPO_ROOT, have  # noqa: E402

CAD = osp.join(REPO_ROOT, 'configs', 'resnet_cls')
needs_mmpretrain = pytest.mark.skipif(not have('mmpretrain'),
                                      reason='OpenMMLab stack not installed (run tools/setup_env.sh)')


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Registry lookups here are MMPretrain's, whatever scope an earlier test module left current."""
    if not have('mmpretrain'):
        yield
        return
    from mmengine.registry import DefaultScope, init_default_scope
    before = DefaultScope.get_current_instance()
    init_default_scope('mmpretrain')
    yield
    if before is not None:
        init_default_scope(before.scope_name)

# A 3-class example worked out by hand (rows true, columns predicted), 16 images:
#   class 0: TP 5, FP 2 (column 0 minus TP), FN 1 (row 0 minus TP), TN 16-5-2-1 = 8
#   class 1: TP 3, FP 1, FN 3, TN 9;   class 2: TP 4, FP 1, FN 0, TN 11
CM = np.array([[5, 1, 0],
               [2, 3, 1],
               [0, 0, 4]])
PRECISION = [F(5, 7), F(3, 4), F(4, 5)]
RECALL = [F(5, 6), F(1, 2), F(1, 1)]
SPECIFICITY = [F(8, 10), F(9, 10), F(11, 12)]
F1 = [F(10, 13), F(3, 5), F(8, 9)]  # 2PR/(P+R): (50/42)/(65/42), (3/4)/(5/4), (8/5)/(9/5)
SUPPORT = [6, 6, 4]


def _close(a, b):
    return abs(float(a) - float(b)) < 1e-12


def test_report_matches_hand_computed_confusion_matrix():
    r = classification_report(CM)
    assert _close(r['accuracy'], F(12, 16))
    assert r['support'].tolist() == SUPPORT and r['num_samples'] == 16
    for name, expected in (('precision', PRECISION), ('recall', RECALL), ('specificity', SPECIFICITY),
                           ('f1', F1)):
        assert all(_close(g, e) for g, e in zip(r['per_class'][name], expected)), name
        assert _close(r['macro'][name], sum(expected) / 3), name
        assert _close(r['weighted'][name], sum(e * s for e, s in zip(expected, SUPPORT)) / 16), name
    # support-weighted recall is the accuracy (why Table 7's Rec = Acc points to weighted averages)
    assert _close(r['weighted']['recall'], r['accuracy'])


def test_report_agrees_with_sklearn_and_never_predicted_class_scores_zero():
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import precision_recall_fscore_support
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 3, 200))
    y_pred[y_pred == 3] = 0  # class 3 is never predicted
    cm = confusion_matrix(y_true, y_pred, 4)
    assert (cm == sk_cm(y_true, y_pred, labels=range(4))).all()
    r = classification_report(cm)
    for avg in ('macro', 'weighted'):
        p, rec, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(4), average=avg,
                                                       zero_division=0)
        assert np.allclose([r[avg]['precision'], r[avg]['recall'], r[avg]['f1']], [p, rec, f])
    assert r['per_class']['precision'][3] == 0 and r['per_class']['recall'][3] == 0  # 0/0 and 0/n
    # specificity of class k is the recall of "not k"
    for k in range(4):
        assert np.isclose(r['per_class']['specificity'][k],
                          np.mean(y_pred[y_true != k] != k))


def test_confusion_matrix_and_cross_entropy_inputs():
    with pytest.raises(ValueError, match='outside 0..2'):
        confusion_matrix([0, 1, 3], [0, 1, 1], 3)
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    assert np.isclose(mean_cross_entropy(probs, [0, 1]), -(np.log(0.5) + np.log(0.8)) / 2)
    table = format_confusion_table(CM, ['a', 'b', 'c'])
    assert table.splitlines()[2].split() == ['b', '2', '3', '1']


def _sample(score, label, path='x.png'):
    import torch
    return {'pred_score': torch.tensor(score, dtype=torch.float32), 'gt_label': torch.tensor([label]),
            'img_path': path}


@needs_mmpretrain
def test_classification_report_metric_logs_and_writes_files(tmp_path):
    import torch

    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.evaluation import SingleLabelMetric
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='ClassificationReport', out_dir=str(tmp_path / 'report')))
    metric.dataset_meta = dict(classes=('L1', 'L2', 'L3'))
    samples, preds, gts = [], [], []
    for t in range(3):  # one sample per cell of CM, with the prediction as arg-max
        for p in range(3):
            for _ in range(CM[t, p]):
                score = [0.1, 0.1, 0.1]
                score[p] = 0.8
                samples.append(_sample(score, t, f'img_{len(samples)}.png'))
                preds.append(p)
                gts.append(t)
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    assert _close(out['cls/accuracy'], F(12, 16))
    assert _close(out['cls/macro_specificity'], sum(SPECIFICITY) / 3)
    assert _close(out['cls/weighted_f1'], sum(f * s for f, s in zip(F1, SUPPORT)) / 16)
    assert _close(out['cls/recall_L2'], RECALL[1])
    # p(true class) is 0.8 on the 12 correct images and 0.1 on the 4 wrong ones
    assert np.isclose(out['cls/cross_entropy'], -(12 * np.log(0.8) + 4 * np.log(0.1)) / 16)
    # mmpretrain's own macro precision / recall / F1 (in %) agree
    mm = SingleLabelMetric.calculate(torch.tensor(preds), torch.tensor(gts), num_classes=3, average='macro')
    assert np.allclose([v.item() / 100 for v in mm[:3]],
                       [out['cls/macro_precision'], out['cls/macro_recall'], out['cls/macro_f1']], atol=1e-6)
    with open(tmp_path / 'report' / 'confusion_matrix.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['true \\ predicted', 'L1', 'L2', 'L3']
    assert np.array([[int(v) for v in r[1:]] for r in rows[1:]]).tolist() == CM.tolist()
    png = cv2.imread(str(tmp_path / 'report' / 'confusion_matrix.png'))
    assert png is not None and png.shape[0] > 100
    with open(tmp_path / 'report' / 'predictions.csv') as f:
        assert len(list(csv.reader(f))) == 1 + 16


def _write_image_and_mask(root, rel, size=(20, 30)):
    h, w = size
    rng = np.random.default_rng(0)
    img = rng.integers(1, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[5:12, 8:20] = 255
    os.makedirs(osp.dirname(osp.join(root, 'images', rel)), exist_ok=True)
    cv2.imwrite(osp.join(root, 'images', rel), img)
    mask_rel = osp.splitext(rel)[0] + '.png'
    os.makedirs(osp.dirname(osp.join(root, 'nucleus_masks', mask_rel)), exist_ok=True)
    cv2.imwrite(osp.join(root, 'nucleus_masks', mask_rel), mask)
    return img, mask


def _mask_transform(**kwargs):
    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='MaskOutsideNucleus', **kwargs))


@needs_mmpretrain
def test_mask_outside_nucleus_zeroes_the_outside(tmp_path):
    root = str(tmp_path / 'ds')
    img, mask = _write_image_and_mask(root, 'cls_a/patient 1/cell.tif')  # sub-folder, other extension
    t = _mask_transform()
    out = t({'img': img.copy(), 'img_path': osp.join(root, 'images', 'cls_a/patient 1/cell.tif')})['img']
    expected = img.copy()
    expected[mask == 0] = 0
    assert out.dtype == np.uint8 and (out == expected).all()
    assert (out[5:12, 8:20] == img[5:12, 8:20]).all() and not out[0].any()


@needs_mmpretrain
def test_mask_outside_nucleus_errors_name_image_mask_and_tool(tmp_path):
    root = str(tmp_path / 'ds')
    img, _ = _write_image_and_mask(root, 'a/x.png')
    t = _mask_transform()
    img_path = osp.join(root, 'images', 'b', 'y.jpg')
    with pytest.raises(FileNotFoundError) as e:
        t({'img': img, 'img_path': img_path})
    msg = str(e.value)
    assert img_path in msg and osp.join(root, 'nucleus_masks', 'b', 'y.png') in msg
    assert 'tools/precompute_masks.py' in msg
    small = cv2.resize(img, (15, 10))
    with pytest.raises(ValueError, match=r'30x20 \(WxH\).*15x10'):
        t({'img': small, 'img_path': osp.join(root, 'images', 'a', 'x.png')})
    with pytest.raises(ValueError, match="not inside an 'images' folder"):
        t({'img': img, 'img_path': str(tmp_path / 'elsewhere' / 'x.png')})


def _load(path, options=None):
    from mmengine_plugins.config import load_config
    return load_config(argparse.Namespace(config=path, cfg_options=options, launcher='none', local_rank=0,
                                          work_dir=None))


@needs_mmpretrain
def test_train_pipeline_runs_on_an_image(tmp_path):
    """Every augmentation step builds in the mmpretrain scope and keeps a 3x224x224 input."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    import mmpretrain_plugins  # noqa: F401
    cfg = _load(osp.join(CAD, 'resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py'))
    init_default_scope('mmpretrain')
    root = str(tmp_path / 'ds')
    _write_image_and_mask(root, 'a/x.png', size=(240, 260))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    np.random.seed(0)
    for _ in range(12):
        out = pipeline({'img_path': osp.join(root, 'images', 'a', 'x.png'), 'gt_label': 0})
        assert tuple(out['inputs'].shape) == (3, 224, 224)


@needs_mmpretrain
def test_dataset_reads_classes_from_meta_and_checks_labels(tmp_path):
    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.registry import DATASETS
    root = tmp_path / 'ds'
    _write_image_and_mask(str(root), 'b/x.png')
    os.makedirs(root / 'splits')
    (root / 'splits' / 'fold0_train.txt').write_text('b/x.png 1\n')
    (root / 'meta.json').write_text(json.dumps({'classes': ['a', 'b']}))
    ds = DATASETS.build(dict(type='BloodCellClsDataset', data_root=str(root), ann_file='splits/fold0_train.txt'))
    info = ds.get_data_info(0)
    assert ds.metainfo['classes'] == ('a', 'b') and info['gt_label'] == 1
    assert info['img_path'] == osp.join(str(root), 'images', 'b', 'x.png')
    with pytest.raises(ValueError, match='differ'):
        DATASETS.build(dict(type='BloodCellClsDataset', data_root=str(root), ann_file='splits/fold0_train.txt',
                            metainfo=dict(classes=('b', 'a'))))
    (root / 'splits' / 'fold0_val.txt').write_text('b/x.png 2\n')
    with pytest.raises(ValueError, match=r'fold0_val.txt: label 2 .* outside 0..1'):
        DATASETS.build(dict(type='BloodCellClsDataset', data_root=str(root), ann_file='splits/fold0_val.txt'))
    with pytest.raises(ValueError, match='template'):
        DATASETS.build(dict(type='BloodCellClsDataset', data_root=str(root), ann_file='splits/fold{fold}_val.txt'))


@needs_mmpretrain
def test_segmented_run_without_masks_stops_with_the_mask_command(tmp_path):
    from mmengine_plugins.data_check import check_data_prepared
    root = tmp_path / 'ds'
    (root / 'images').mkdir(parents=True)
    loaders = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    from mmengine_plugins.config import parse_cfg_options
    seg = _load(osp.join(CAD, 'resnet50_medium-mish-head_1xb8-30e_all-idb2-segmented-224x224.py'), parse_cfg_options(loaders))
    with pytest.raises(SystemExit) as e:
        check_data_prepared(seg, 'seg.py')
    assert f'python tools/precompute_masks.py {root}' in str(e.value)
    assert osp.join(str(root), 'nucleus_masks') in str(e.value)
    noseg = _load(osp.join(CAD, 'resnet50_medium-mish-head_1xb8-30e_all-idb2-224x224.py'), parse_cfg_options(loaders))
    check_data_prepared(noseg, 'noseg.py')  # no masks needed
    (root / 'nucleus_masks').mkdir()
    check_data_prepared(seg, 'seg.py')
