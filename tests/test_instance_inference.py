"""hemaseg.instance_inference: the framework-free half of tools/infer.py (mmdet) and tools/det2_infer.py."""
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hemaseg.data.io import write_image
from hemaseg.instance_inference import (InstancePrediction, coco_results, collect_images, instance_id_map,
                                        run_instance_inference)


def _pred(h=40, w=50):
    masks = np.zeros((3, h, w), bool)
    masks[0, 5:20, 5:20] = True      # score 0.2
    masks[1, 10:30, 10:30] = True    # score 0.9, overlaps 0
    masks[2, 30:35, 40:45] = True    # score 0.5
    boxes = np.array([[5, 5, 20, 20], [10, 10, 30, 30], [40, 30, 45, 35]], np.float32)
    return InstancePrediction(masks, boxes, np.array([0.2, 0.9, 0.5]), np.array([0, 0, 0]))


def test_keep_sorts_by_score_and_thresholds():
    kept = _pred().keep(0.3)
    assert kept.scores.tolist() == [0.9, 0.5]
    assert kept.boxes[0].tolist() == [10, 10, 30, 30]


def test_instance_ids_higher_score_wins_overlaps():
    pred = _pred().keep(0.0)  # order 0.9, 0.5, 0.2 -> ids 1, 2, 3
    ids = instance_id_map(pred, (40, 50))
    assert ids.dtype == np.uint16
    assert ids[15, 15] == 1       # in both the 0.9 and the 0.2 mask
    assert ids[6, 6] == 3 and ids[32, 42] == 2 and ids[0, 0] == 0


def test_coco_results_round_trip():
    pred = _pred().keep(0.0)
    res = coco_results('a.png', pred)
    assert [r['score'] for r in res] == [0.9, 0.5, 0.2]
    assert res[0]['bbox'] == [10.0, 10.0, 20.0, 20.0] and res[0]['category_id'] == 1
    rle = dict(res[0]['segmentation'], counts=res[0]['segmentation']['counts'].encode())
    assert np.array_equal(mask_utils.decode(rle).astype(bool), pred.masks[0])
    json.dumps(res)  # serialisable


def test_run_writes_outputs_and_reports_unreadable_files(tmp_path):
    img = np.full((40, 50, 3), 200, np.uint8)
    write_image(tmp_path / 'in' / 'a.png', img)
    write_image(tmp_path / 'in' / 'b.png', img)
    (tmp_path / 'in' / 'broken.png').write_bytes(b'not a png')
    files, missing = collect_images([str(tmp_path / 'in'), str(tmp_path / 'nope.png')])
    assert len(files) == 3 and missing == [str(tmp_path / 'nope.png')]
    logs = []
    written, failed = run_instance_inference(files, lambda rgb: _pred(*rgb.shape[:2]), str(tmp_path / 'out'),
                                             score_threshold=0.3, failed=[(missing[0], 'no such file')],
                                             log=logs.append)
    assert written == 2
    assert [f[0] for f in failed] == [missing[0], str(tmp_path / 'in' / 'broken.png')]
    overlay = cv2.imread(str(tmp_path / 'out' / 'overlays' / 'a.png'))[:, :, ::-1]
    assert (overlay != img).any(axis=2)[10:30, 10:30].any()           # contour drawn
    assert (overlay == img).all(axis=2)[12:28, 20:28].all()           # inside the mask untouched
    ids = cv2.imread(str(tmp_path / 'out' / 'instances' / 'b.png'), cv2.IMREAD_UNCHANGED)
    assert ids.dtype == np.uint16 and set(np.unique(ids)) == {0, 1, 2}
    preds = json.loads((tmp_path / 'out' / 'predictions.json').read_text())
    assert len(preds) == 4 and {p['file_name'] for p in preds} == {'a.png', 'b.png'}
    assert any('[2/3]' in line and '2 instance(s)' in line for line in logs)


def test_overlay_rejects_mismatched_masks():
    from hemaseg.instance_inference import draw_instance_overlay
    with pytest.raises(ValueError, match='does not match image shape'):
        draw_instance_overlay(np.zeros((10, 10, 3), np.uint8), _pred())
