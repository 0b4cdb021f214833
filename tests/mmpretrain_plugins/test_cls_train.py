"""End to end for the spec 002 classifiers on a tiny synthetic class-folder dataset (3 classes x 4
images, 32 px): tools/precompute_masks.py -> tools/train.py (2 iterations of a Segmented-Mish-Medium
variant shrunk to ResNet-18 at 32 px) -> tools/test.py (report, confusion matrix CSV + PNG)."""
import csv
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip('mmpretrain', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from cls_synthetic import CLASSES, make_class_folder_dataset  # noqa: E402
from conftest import REPO_ROOT, have, load_tool, run_tool  # noqa: E402

TOOLS = osp.join(REPO_ROOT, 'tools')
TINY_CLS_CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'resnet_cls_tiny.py')
needs_handcrafted = pytest.mark.skipif(not have('hemaseg.handcrafted'),
                                       reason='hemaseg/handcrafted.py (Algorithm 1) is not in this checkout')


def run(args, env, check=True):
    return run_tool(args, env=env, check=check)


def root_opts(root):
    return [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cls_synthetic'))
    truth = make_class_folder_dataset(root)
    return root, truth


@pytest.fixture(scope='module')
def masked(dataset, run_env_module):
    """The dataset with handcrafted nucleus masks written by tools/precompute_masks.py."""
    if not have('hemaseg.handcrafted'):
        pytest.skip('hemaseg/handcrafted.py (Algorithm 1) is not in this checkout')
    root, truth = dataset
    proc = run([osp.join(TOOLS, 'precompute_masks.py'), root], run_env_module)
    return root, truth, proc


@pytest.fixture(scope='module')
def run_env_module():
    return dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')


@needs_handcrafted
def test_precompute_masks_writes_one_mask_per_image(masked, run_env_module):
    root, truth, proc = masked
    assert '12 mask(s) written' in proc.stdout
    for rel, nucleus in truth.items():
        mask = cv2.imread(osp.join(root, 'nucleus_masks', osp.splitext(rel)[0] + '.png'), cv2.IMREAD_UNCHANGED)
        assert mask.shape == nucleus.shape and set(np.unique(mask)) <= {0, 255}
        found = mask > 0
        iou = (found & nucleus).sum() / (found | nucleus).sum()
        assert iou > 0.8, (rel, iou)
    meta = json.load(open(osp.join(root, 'nucleus_masks', 'meta.json')))
    assert meta['settings']['method'] == 'handcrafted' and meta['complete'] and meta['empty'] == 0
    again = run([osp.join(TOOLS, 'precompute_masks.py'), root], run_env_module)  # resumes: nothing recomputed
    assert '0 mask(s) written, 12 kept' in again.stdout


@needs_handcrafted
def test_precompute_masks_reports_unreadable_and_empty(tmp_path, run_env_module):
    root = tmp_path / 'ds'
    make_class_folder_dataset(str(root), per_class=2)
    blank = np.full((32, 32, 3), 220, np.uint8)  # no nucleus: an empty mask
    cv2.imwrite(str(root / 'images' / CLASSES[0] / 'blank.png'), blank)
    (root / 'images' / CLASSES[1] / 'broken.png').write_bytes(b'not an image')
    proc = run([osp.join(TOOLS, 'precompute_masks.py'), str(root)], run_env_module, check=False)
    assert proc.returncode == 1
    assert 'broken.png' in proc.stderr and 'cannot be decoded' in proc.stderr
    assert '1 of 8 masks are empty' in proc.stderr and f'{CLASSES[0]}/blank.png' in proc.stderr
    assert (root / 'nucleus_masks' / 'empty_masks.txt').read_text().split() == [f'{CLASSES[0]}/blank.png']
    other = run([osp.join(TOOLS, 'precompute_masks.py'), str(root), '--method', 'deep'], run_env_module,
                check=False)
    assert other.returncode != 0 and '--config' in other.stderr


@needs_handcrafted
def test_precompute_masks_ensemble_with_an_mmseg_model(dataset, tmp_path):
    """--config/--checkpoint: Eq. 12 (handcrafted AND deep). The tiny mmseg model's last layer is set to
    predict nucleus everywhere (the ensemble is then the handcrafted mask) or nowhere (then empty)."""
    pytest.importorskip('mmseg')
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmseg_plugins  # noqa: F401
    precompute_masks = load_tool('precompute_masks')
    from hemaseg.handcrafted import segment_nucleus_handcrafted
    from mmseg.registry import MODELS
    root = str(tmp_path / 'ds')
    shutil.copytree(dataset[0], root, ignore=shutil.ignore_patterns('nucleus_masks'))
    config = osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py')
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(config).model)
    meta = {'dataset_meta': {'classes': ('background', 'nucleus'), 'palette': [[0, 0, 0], [1, 1, 1]]}}
    hand = {rel: segment_nucleus_handcrafted(cv2.imread(osp.join(root, 'images', rel))[:, :, ::-1].copy())
            for rel in dataset[1]}
    for nucleus_everywhere in (True, False):
        with torch.no_grad():
            model.decode_head.conv_seg.weight.zero_()
            model.decode_head.conv_seg.bias.copy_(torch.tensor([-5.0, 5.0] if nucleus_everywhere else [5.0, -5.0]))
        ckpt = str(tmp_path / f'seg_{nucleus_everywhere}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': meta}, ckpt)
        precompute_masks.main([root, '--config', config, '--checkpoint', ckpt, '--overwrite'])
        settings = json.load(open(osp.join(root, 'nucleus_masks', 'meta.json')))['settings']
        assert settings['method'] == 'ensemble' and settings['checkpoint'] == ckpt
        for rel in dataset[1]:
            mask = cv2.imread(osp.join(root, 'nucleus_masks', osp.splitext(rel)[0] + '.png'), 0) > 0
            # every synthetic nucleus is one blob of > 150 px, so the area opening keeps it whole
            assert (mask == (hand[rel] if nucleus_everywhere else False)).all(), (rel, nucleus_everywhere)
            assert hand[rel].any()
    with pytest.raises(SystemExit, match='--overwrite'):  # another method on the same folder
        precompute_masks.main([root])


@pytest.fixture(scope='module')
def trained(masked, run_env_module, tmp_path_factory):
    root = masked[0]
    work = str(tmp_path_factory.mktemp('cls_train'))
    proc = run([osp.join(TOOLS, 'train.py'), TINY_CLS_CONFIG, '--work-dir', work, '--cfg-options', *root_opts(root)],
               run_env_module)
    return root, work, proc


def test_two_training_iterations_write_a_checkpoint(trained):
    _, work, proc = trained
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'Epoch(train) [1][3/' not in log
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'cls/accuracy' in log and 'confusion matrix' in log  # validation ran the report


def test_test_tool_prints_report_and_writes_confusion_matrix(trained, run_env_module, tmp_path):
    root, work, _ = trained
    out = str(tmp_path / 'test')
    proc = run([osp.join(TOOLS, 'test.py'), TINY_CLS_CONFIG, osp.join(work, 'epoch_1.pth'), '--work-dir', out,
                '--cfg-options', *root_opts(root)], run_env_module)
    log = proc.stdout + proc.stderr
    for text in ('confusion matrix (rows: true class', 'weighted avg', 'cls/accuracy', 'cls/macro_specificity'):
        assert text in log, text
    report = osp.join(out, 'classification_report')
    png = cv2.imread(osp.join(report, 'confusion_matrix.png'))
    assert png is not None and png.ndim == 3
    with open(osp.join(report, 'predictions.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(CLASSES)  # one test image per class
    expected = np.zeros((3, 3), int)
    for r in rows:
        expected[CLASSES.index(r['true']), CLASSES.index(r['predicted'])] += 1
    with open(osp.join(report, 'confusion_matrix.csv')) as f:
        got = np.array([[int(v) for v in row[1:]] for row in list(csv.reader(f))[1:]])
    assert (got == expected).all()
    metrics = json.load(open(osp.join(out, 'test_metrics.json')))
    assert np.isclose(metrics['cls/accuracy'], np.trace(expected) / 3)
