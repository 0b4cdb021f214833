"""COCO AP on a case computable by hand, and the prediction checks (hemaseg.coco_eval, tools/coco_eval.py)."""
import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from hemaseg.coco_eval import evaluate, format_table
from hemaseg.data.io import DatasetError
from hemaseg.data.rle import encode_mask, mask_to_rle
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
H = W = 64


def _square(y, x, s):
    m = np.zeros((H, W), bool)
    m[y:y + s, x:x + s] = True
    return m


GT = [_square(4, 4, 20), _square(40, 40, 10)]            # GT1 400 px, GT2 100 px
PRED = [(_square(4, 4, 20), 0.9),                          # = GT1: IoU 1
        (_square(40, 4, 10), 0.8),                         # overlaps nothing: false positive
        (_square(41, 41, 8), 0.7)]                         # inside GT2: IoU 64/100 = 0.64 (boxes too)


@pytest.fixture
def files(tmp_path):
    anns = []
    for k, m in enumerate(GT, 1):
        enc = encode_mask(m)
        anns.append({'id': k, 'image_id': 1, 'category_id': 1, 'segmentation': enc.segmentation,
                     'area': enc.area, 'bbox': enc.bbox, 'iscrowd': 0})
    gt = {'images': [{'id': 1, 'file_name': 'a.png', 'width': W, 'height': H}],
          'categories': [{'id': 1, 'name': 'cell'}], 'annotations': anns}
    preds = [{'image_id': 1, 'category_id': 1, 'score': s, 'segmentation': mask_to_rle(m)} for m, s in PRED]
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    (tmp_path / 'pred.json').write_text(json.dumps(preds))
    return tmp_path / 'gt.json', tmp_path / 'pred.json', preds


def _pycocotools(gt_path, pred_path, iou_type):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(str(pred_path)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_hand_computed_ap(files):
    """Detections by score: P1 (0.9, IoU 1 with GT1), FP (0.8, IoU 0), P3 (0.7, IoU 0.64 with GT2); 2 GTs.

    COCO AP: precision made monotone (p[i] = max(p[i:])) and read at the 101 recall
    points r = 0, 0.01, ..., 1 (the first detection reaching recall >= r; 0 beyond
    the last recall), then averaged.

    IoU threshold 0.50 (also 0.55, 0.60: 0.64 >= t): TP, FP, TP
        recall 1/2, 1/2, 1;  precision 1, 1/2, 2/3  -> monotone 1, 2/3, 2/3
        r = 0 .. 0.50 (51 points): 1;  r = 0.51 .. 1 (50 points): 2/3
        AP50 = (51 + 50 * 2/3) / 101 = 253/303 = 0.834983
    IoU threshold 0.75 (and 0.65 .. 0.95, 7 thresholds): TP, FP, FP
        recall 1/2, 1/2, 1/2;  precision 1, 1/2, 1/3  -> monotone 1, 1/2, 1/3
        r = 0 .. 0.50: 1;  r > 0.50 is never reached: 0
        AP75 = 51/101 = 0.504950
    AP = (3 * 253/303 + 7 * 51/101) / 10 = 61/101 = 0.603960
    AR@100 = (3 * 1 + 7 * 1/2) / 10 = 0.65; AR@1 (only P1 counts) = 1/2.
    All objects are < 32^2 px: APs = AP, APm = APl = -1 (no ground truth there).
    The boxes have the same IoUs (squares), so box AP is the same.
    """
    gt_path, pred_path, _ = files
    hand = {'AP': 61 / 101, 'AP50': 253 / 303, 'AP75': 51 / 101, 'APs': 61 / 101, 'APm': -1, 'APl': -1,
            'AR1': 0.5, 'AR10': 0.65, 'AR100': 0.65}
    results = evaluate(gt_path, pred_path)
    for iou_type in ('segm', 'bbox'):
        ours = results[iou_type]
        for name, value in hand.items():
            assert ours[name] == pytest.approx(value, abs=1e-9), (iou_type, name)
        stats = _pycocotools(gt_path, pred_path, iou_type)
        assert [ours[n] for n in ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100')] == \
            pytest.approx(list(stats[:9]), abs=1e-12)
        assert ours['per_category']['cell']['AP50'] == pytest.approx(253 / 303)
    table = format_table(results)
    assert '60.40' in table and '83.50' in table and '50.50' in table


def test_empty_predictions_score_zero(files, tmp_path):
    gt_path, _, _ = files
    (tmp_path / 'empty.json').write_text('[]')
    r = evaluate(gt_path, tmp_path / 'empty.json')
    assert r['segm']['AP'] == r['segm']['AP50'] == r['bbox']['AR100'] == 0.0 and r['segm']['APm'] == -1
    assert 'no predictions: AP and AR are 0' in format_table(r)


@pytest.mark.parametrize('change, problem', [
    (lambda p: p[0].update(image_id=5), 'image ids not in the ground truth: 5'),
    (lambda p: p[1].update(category_id=3), 'unknown category ids: 3 (ground truth: 1=cell)'),
    (lambda p: p[2]['segmentation'].update(counts='P0P0'), 'prediction #2 (image 1): malformed RLE: RLE runs cover'),
    (lambda p: p[2]['segmentation'].update(counts='\x7f'), 'compressed RLE counts string is malformed'),
    (lambda p: p[2]['segmentation'].update(size=[32, 128]), 'RLE size [32, 128] is not the image size [64, 64]'),
    (lambda p: p[0].update(segmentation=[[1, 1, 5, 1, 5, 5]]), 'segmentation must be compressed RLE'),
    (lambda p: p[0].pop('score'), 'score None is not a finite number'),
    (lambda p: p[0].update(bbox=[1, 2, 3]), 'bbox [1, 2, 3] is not'),
])
def test_prediction_errors(files, tmp_path, change, problem):
    gt_path, _, preds = files
    change(preds)
    (tmp_path / 'bad.json').write_text(json.dumps(preds))
    with pytest.raises(DatasetError, match='invalid predictions') as e:
        evaluate(gt_path, tmp_path / 'bad.json')
    assert problem in str(e.value)


def test_cli(files, tmp_path, capsys):
    gt_path, pred_path, _ = files
    spec = importlib.util.spec_from_file_location('coco_eval_cli', ROOT / 'tools/coco_eval.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main([str(gt_path), str(pred_path), '--iou-type', 'segm', '--out', str(tmp_path / 'm.json')])
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ['|', 'AP', '|', 'AP50', '|', 'AP75', '|', 'APs', '|', 'APm', '|', 'APl',
                                           '|', 'AR1', '|', 'AR10', '|', 'AR100', '|', 'ARs', '|', 'ARm', '|', 'ARl']
    assert 'mask' in out and 'box' not in out
    metrics = json.loads((tmp_path / 'm.json').read_text())
    assert metrics['segm']['AP75'] == pytest.approx(51 / 101) and 'bbox' not in metrics
    (tmp_path / 'list.json').write_text(json.dumps({'annotations': []}))
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, [str(gt_path), str(tmp_path / 'list.json')])
    assert e.value.code == 2 and 'looks like a ground-truth file' in capsys.readouterr().err


def test_per_image_scores_by_hand(files, tmp_path):
    """The one image above: matched IoU = mean(1.0 for GT1, 0.64 for GT2) = 0.82 with every prediction
    (score >= 0.5); with --score-thr 0.75 the 0.7 prediction is dropped: mean(1.0, 0.0) = 0.5. Its mask
    AP alone equals the whole set's (one image). The tool writes the same rows for tools/compare.py."""
    from hemaseg.coco_eval import per_image_scores
    gt_path, pred_path, _ = files
    (row,) = per_image_scores(gt_path, pred_path)
    assert row['image'] == 'a.png' and row['num_gt'] == 2 and row['num_pred'] == 3
    assert row['matched_iou'] == pytest.approx(0.82)
    assert row['mask_AP'] == pytest.approx(_pycocotools(gt_path, pred_path, 'segm')[0])
    (strict,) = per_image_scores(gt_path, pred_path, score_thr=0.75)
    assert strict['matched_iou'] == pytest.approx(0.5) and strict['num_pred'] == 2
    import subprocess
    import sys
    out = tmp_path / 'per_image.csv'
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'coco_eval.py'), str(gt_path), str(pred_path),
                    '--per-image-csv', str(out)], check=True, capture_output=True)
    lines = out.read_text().splitlines()
    assert lines[0] == 'image,mask_AP,matched_iou,num_gt,num_pred' and lines[1].startswith('a.png,')
