"""hemaseg.instance_inference: the framework-free half of tools/infer.py (mmdet) and tools/det2_infer.py."""
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hemaseg.data.io import write_image
from hemaseg.instance_inference import (InstancePrediction, coco_results, collect_images, instance_id_map,
                                        output_names, run_instance_inference)


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
    for r, mask in zip(res, pred.masks):  # pycocotools' compressed RLE, counts as str, size as plain ints
        ref = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        assert r['segmentation'] == {'size': [40, 50], 'counts': ref['counts'].decode('ascii')}
        assert type(r['segmentation']['counts']) is str and all(type(v) is int for v in r['segmentation']['size'])
    assert json.loads(json.dumps(res)) == res  # serialisable, unchanged by a round trip


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


def test_output_names_unique_stems_are_kept():
    assert output_names(['in/a.png', 'other/b.jpg']) == [('a', 'a.png'), ('b', 'b.jpg')]


def test_output_names_disambiguate_shared_stems(tmp_path):
    a, b, c = str(tmp_path / 'a' / 'x.png'), str(tmp_path / 'b' / 'deep' / 'x.png'), str(tmp_path / 'y.png')
    assert output_names([a, b, c]) == [('a/x', 'a/x.png'), ('b/deep/x', 'b/deep/x.png'), ('y', 'y.png')]
    # Same stem in one folder (x.png, X.jpg: one file on case-insensitive systems), the same file twice.
    same = [str(tmp_path / 'x.png'), str(tmp_path / 'X.jpg'), str(tmp_path / 'x.png')]
    assert output_names(same) == [('x', 'x.png'), ('X__2', 'X.jpg'), ('x__3', 'x.png')]
    assert output_names(['x.png', 'sub/x.png']) == [('x', 'x.png'), ('sub/x', 'sub/x.png')]


def test_run_same_stem_inputs_do_not_overwrite_each_other(tmp_path):
    write_image(tmp_path / 'a' / 'x.png', np.full((40, 50, 3), 200, np.uint8))
    write_image(tmp_path / 'b' / 'x.png', np.full((30, 20, 3), 100, np.uint8))
    files = [str(tmp_path / 'a' / 'x.png'), str(tmp_path / 'b' / 'x.png')]

    def predict(rgb):  # one instance covering the left half: differs between the two images
        h, w = rgb.shape[:2]
        masks = np.zeros((1, h, w), bool)
        masks[0, :, :w // 2] = True
        return InstancePrediction(masks, np.array([[0, 0, w // 2, h]], np.float32), np.array([0.9]), np.array([0]))

    logs = []
    written, failed = run_instance_inference(files, predict, str(tmp_path / 'out'), log=logs.append)
    assert written == 2 and not failed
    for sub, shape in (('a', (40, 50)), ('b', (30, 20))):
        assert cv2.imread(str(tmp_path / 'out' / 'overlays' / sub / 'x.png')).shape[:2] == shape
        assert cv2.imread(str(tmp_path / 'out' / 'instances' / sub / 'x.png'), cv2.IMREAD_UNCHANGED).shape == shape
    assert not (tmp_path / 'out' / 'overlays' / 'x.png').exists()
    preds = json.loads((tmp_path / 'out' / 'predictions.json').read_text())
    assert [p['file_name'] for p in preds] == ['a/x.png', 'b/x.png']
    assert [p['segmentation']['size'] for p in preds] == [[40, 50], [30, 20]]
    text = '\n'.join(logs)
    assert f'{files[0]} -> a/x.png' in text and f'{files[1]} -> b/x.png' in text
