"""tools/infer.py -> tools/coco_eval.py, as the README chains them: predictions.json names images by
file name, coco_eval finds them in the annotation file (hemaseg.coco_eval.assign_image_ids)."""
import contextlib
import io
import json
import os
import os.path as osp
import re
import subprocess
import time

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from conftest import REPO_ROOT, run_tool
from hemaseg.coco_eval import assign_image_ids, evaluate, load_ground_truth
from hemaseg.data.io import DatasetError
from hemaseg.instance_inference import InstancePrediction, coco_results

# The README's two commands ("Instance segmentation, MMDetection"), CONFIG / CHECKPOINT filled in by the test.
README_INFER = 'python tools/infer.py CONFIG CHECKPOINT data/wbc_coco/images/ --out out/'
README_EVAL = 'python tools/coco_eval.py data/wbc_coco/annotations/fold0_test.json out/predictions.json'


def test_readme_shows_the_tested_commands():
    readme = open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8').read()
    assert README_INFER in readme and README_EVAL in readme


# --------------------------------------------------------------------------- keying by file name
def _gt(names):
    gt = COCO()
    gt.dataset = {'images': [{'id': 10 + k, 'file_name': n, 'width': 8, 'height': 8} for k, n in enumerate(names)],
                  'annotations': [], 'categories': [{'id': 1, 'name': 'cell'}]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def test_file_names_are_matched_by_path_suffix():
    gt = _gt(['a.png', 'd1/b.png', 'd2/b.png', 'd1/c.png'])
    preds = [{'file_name': 'images/a.png'}, {'file_name': 'images/a.png'}, {'file_name': 'd2/b.png'},
             {'file_name': 'x/d1/b.png'}, {'file_name': 'c.png'}, {'image_id': 11}, {'file_name': 'zzz.png'},
             {'file_name': 'zzz.png'}]
    out, info = assign_image_ids(gt, preds)
    assert [p.get('image_id') for p in out] == [10, 10, 12, 11, 13, 11]
    assert info == {'keyed_by_file_name': 5, 'ignored_predictions': 2, 'ignored_files': ['zzz.png'],
                    'num_ignored_files': 1}
    assert 'image_id' not in preds[0]  # the caller's dicts are left alone


@pytest.mark.parametrize('preds, problem', [
    ([{'file_name': 'b.png'}], "file name 'b.png' matches 2 ground-truth images ('d1/b.png', 'd2/b.png')"),
    ([{'file_name': 'q.png'}, {'file_name': 'r.png'}], 'none of the 2 file name(s) of the predictions is in the '
                                                       'ground truth'),
    ([{'file_name': 'a.png', 'image_id': 11}], "image_id 11 is 'd1/b.png' in the ground truth but the prediction "
                                               "names 'a.png'"),
    ([{'file_name': 'in/a.png'}, {'file_name': 'in/a.png'}, {'file_name': 'other/a.png'}],
     "file names 'in/a.png' and 'other/a.png' both match ground-truth image 'a.png'"),
])
def test_file_name_problems(preds, problem):
    with pytest.raises(DatasetError, match='invalid predictions') as e:
        assign_image_ids(_gt(['a.png', 'd1/b.png', 'd2/b.png']), preds)
    assert problem in str(e.value)


# --------------------------------------------------------------------------- the README chain
def run(cmd: str, cwd: str, **subst) -> subprocess.CompletedProcess:
    """A README command line with its placeholders replaced, run with this interpreter from ``cwd``."""
    args = cmd.split()
    args = [subst.get(a, a) for a in args]
    assert args[0] == 'python'
    t0 = time.perf_counter()
    proc = run_tool(args[1:], cwd=cwd, timeout=600)
    print(f'{args[1]}: {time.perf_counter() - t0:.1f} s')
    return proc


def table_row(stdout: str, name: str) -> dict:
    lines = stdout.splitlines()
    header = [c.strip() for c in lines[0].split('|')]
    row = next(line for line in lines if line.split('|')[0].strip() == name)
    return dict(zip(header[1:], (c.strip() for c in row.split('|')[1:])))


@pytest.fixture(scope='module')
def readme_chain(tmp_path_factory):
    """A checkout-like folder: tools/ (a link to the real one), data/wbc_coco (the tiny COCO set of
    test_mmdet_models: 6 images, fold0_test = 3 of them), a YOLACT-CIS checkpoint; then the README's
    two commands run from there."""
    pytest.importorskip('mmdet', reason='mmdet is not installed (OpenMMLab detection stack, see tools/setup_env.sh)')
    pytest.importorskip('mmcv.ops', reason='mmcv was built without its compiled ops')
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmdet_plugins  # noqa: F401
    from mmdet.registry import MODELS
    from test_mmdet_models import write_tiny_coco

    root = tmp_path_factory.mktemp('readme_chain')
    os.symlink(osp.join(REPO_ROOT, 'tools'), root / 'tools')
    write_tiny_coco(str(root / 'data' / 'wbc_coco'))
    config = osp.join(REPO_ROOT, 'tests', 'configs', 'yolact_cis_tiny.py')
    # An untrained YOLACT-CIS checkpoint (weights as initialised, seed 0): its detections are
    # arbitrary but real model output, which is all that keying and evaluation need.
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(config).model)
        model.init_weights()
    checkpoint = str(root / 'yolact_cis_init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': ('cell', )}}}, checkpoint)
    infer = run(README_INFER, str(root), CONFIG=config, CHECKPOINT=checkpoint)
    evaluation = run(README_EVAL, str(root))
    print(infer.stdout[-1500:], evaluation.stdout, sep='\n')
    return root, infer, evaluation


def test_readme_infer_then_coco_eval(readme_chain):
    root, infer, evaluation = readme_chain
    assert '[6/6]' in infer.stdout
    preds = json.load(open(root / 'out' / 'predictions.json'))
    assert preds and all('image_id' not in p for p in preds)
    names = {p['file_name'] for p in preds}
    assert names <= {f'cell_{i:02d}.png' for i in range(6)}
    test_ids = [3, 4, 5]  # SPLITS['test'] of test_mmdet_models
    test_names = {f'cell_{i:02d}.png' for i in test_ids}
    n_test = sum(p['file_name'] in test_names for p in preds)
    out = evaluation.stdout
    assert f'{n_test} predictions on 3 images' in out
    assert f'{n_test} prediction(s) matched to their image by file name' in out
    if len(preds) > n_test:  # predictions on the train/val images are not scored against the test split
        assert f'{len(preds) - n_test} prediction(s) on {len(names - test_names)} file(s) not in the ground truth' \
            in out
    for row in ('mask', 'box'):
        ap = table_row(out, row)['AP']
        assert re.fullmatch(r'\d+\.\d\d', ap) and 0 <= float(ap) <= 100


def test_perfect_predictions_through_the_same_keying_score_100(readme_chain):
    """Ground truth written as predictions by infer's own writer (file names, no ids) for every image
    in images/: coco_eval must find the 3 test images and score AP 100, ignore the other 3."""
    root, _, _ = readme_chain
    all_gt = {}
    for split in ('train', 'val', 'test'):
        data = json.load(open(root / 'data' / 'wbc_coco' / 'annotations' / f'fold0_{split}.json'))
        for img in data['images']:
            anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
            all_gt[img['file_name']] = (img, anns)
    preds = []
    for name, (img, anns) in sorted(all_gt.items()):
        h, w = img['height'], img['width']
        masks = np.stack([mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(a['segmentation'], h, w))
                                            if isinstance(a['segmentation'], list) else a['segmentation'])
                          for a in anns]).astype(bool)
        boxes = np.array([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                          for a in anns])
        preds += coco_results(name, InstancePrediction(masks, boxes, np.linspace(0.9, 0.5, len(anns)),
                                                       np.zeros(len(anns), int)))
    os.makedirs(root / 'perfect', exist_ok=True)
    with open(root / 'perfect' / 'predictions.json', 'w') as f:
        json.dump(preds, f)
    proc = run(README_EVAL.replace('out/', 'perfect/'), str(root))
    print(proc.stdout)
    n_test = sum(len(all_gt[f'cell_{i:02d}.png'][1]) for i in (3, 4, 5))
    assert f'{n_test} predictions on 3 images ({n_test} ground-truth instances)' in proc.stdout
    assert table_row(proc.stdout, 'mask')['AP'] == '100.00' and table_row(proc.stdout, 'box')['AP'] == '100.00'
    # The same through the library, and a wrong keying would not score 100: swap two test images' names.
    gt = load_ground_truth(root / 'data' / 'wbc_coco' / 'annotations' / 'fold0_test.json')
    assert evaluate(gt, preds)['segm']['AP'] == pytest.approx(1.0)
    swap = {'cell_03.png': 'cell_04.png', 'cell_04.png': 'cell_03.png'}
    swapped = [dict(p, file_name=swap.get(p['file_name'], p['file_name'])) for p in preds]
    assert evaluate(gt, swapped)['segm']['AP'] < 0.8
