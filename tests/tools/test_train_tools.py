"""End-to-end through the command-line tools: train, checkpoint, resume, test, infer,
cross-validate, and two-process distributed training on CPU (gloo)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT, TINY_CONFIG, run_tool  # noqa: E402

TOOLS = osp.join(REPO_ROOT, 'tools')


def run(args, env, cwd=REPO_ROOT, check=True):
    return run_tool(args, env=env, cwd=cwd, check=check)


def data_opts(root):
    return [f'{d}.dataset.data_root={root}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


@pytest.fixture(scope='module')
def trained(tiny_dataset, tmp_path_factory):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    work = str(tmp_path_factory.mktemp('train'))
    run([osp.join(TOOLS, 'train.py'), TINY_CONFIG, '--work-dir', work, '--cfg-options', *data_opts(tiny_dataset)],
        env)
    return work, env, tiny_dataset


def test_training_writes_checkpoints_and_best(trained):
    work, _, _ = trained
    assert osp.isfile(osp.join(work, 'iter_8.pth'))
    assert glob.glob(osp.join(work, 'best_nucleus_mDice_iter_*.pth'))


def test_checkpoint_loads_with_weights_only_and_fails_without_allow_list(trained):
    work, _, _ = trained
    import mmseg_plugins  # noqa: F401  (registers the allow-list)
    ckpt = torch.load(osp.join(work, 'iter_8.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == 8 and 'message_hub' in ckpt
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(Exception, match='weights_only'):
            torch.load(osp.join(work, 'iter_8.pth'), map_location='cpu', weights_only=True)
    finally:
        mmseg_plugins.register_safe_globals()


def test_resume_continues_from_the_saved_iteration(trained, tmp_path):
    work, env, data = trained
    resumed = str(tmp_path / 'resumed')
    os.makedirs(resumed)
    proc = run([osp.join(TOOLS, 'train.py'), TINY_CONFIG, '--work-dir', resumed, '--resume',
                osp.join(work, 'iter_4.pth'), '--cfg-options', *data_opts(data)], env)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 4' in log
    assert osp.isfile(osp.join(resumed, 'iter_8.pth'))
    assert not osp.isfile(osp.join(resumed, 'iter_4.pth'))  # iterations 1-4 were not run again
    a = torch.load(osp.join(resumed, 'iter_8.pth'), map_location='cpu')['meta']['iter']
    assert a == 8


def test_test_tool_reports_metrics_csv_and_overlays(trained, tmp_path):
    work, env, data = trained
    out = tmp_path / 'test'
    proc = run([osp.join(TOOLS, 'test.py'), TINY_CONFIG, osp.join(work, 'iter_8.pth'), '--work-dir', str(out),
                '--overlay-dir', str(out / 'overlays'), '--per-image-csv', str(out / 'per_image.csv'),
                '--cfg-options', *data_opts(data)], env)
    metrics = json.load(open(out / 'test_metrics.json'))
    for name in ('Dice', 'IoU', 'Accuracy', 'Precision', 'Recall', 'mDice', 'mIoU'):
        assert 0.0 <= metrics[f'nucleus/{name}'] <= 1.0
    assert 'nucleus/mDice' in proc.stdout
    test_stems = open(osp.join(data, 'splits', 'fold0_test.txt')).read().split()
    rows = open(out / 'per_image.csv').read().strip().splitlines()
    assert len(rows) == 1 + len(test_stems)
    overlays = sorted(os.listdir(out / 'overlays'))
    assert overlays == sorted(f'{s}.png' for s in test_stems)
    img = cv2.imread(str(out / 'overlays' / overlays[0]))
    src = cv2.imread(osp.join(data, 'images', overlays[0]))
    assert img.shape == src.shape and (img != src).any()  # contours were drawn


def test_infer_writes_masks_and_reports_unreadable_files(trained, tmp_path):
    work, env, data = trained
    inputs = tmp_path / 'in'
    inputs.mkdir()
    for stem in open(osp.join(data, 'splits', 'fold0_test.txt')).read().split()[:2]:
        cv2.imwrite(str(inputs / f'{stem}.png'), cv2.imread(osp.join(data, 'images', f'{stem}.png')))
    (inputs / 'broken.png').write_bytes(b'not an image')
    proc = run([osp.join(TOOLS, 'infer.py'), TINY_CONFIG, osp.join(work, 'iter_8.pth'), str(inputs),
                '--out', str(tmp_path / 'out')], env, check=False)
    assert proc.returncode == 1
    assert 'broken.png' in proc.stderr
    masks = sorted(os.listdir(tmp_path / 'out' / 'masks'))
    assert len(masks) == 2
    m = cv2.imread(str(tmp_path / 'out' / 'masks' / masks[0]), cv2.IMREAD_UNCHANGED)
    assert m.shape == (64, 64) and set(np.unique(m)) <= {0, 1}


def test_distributed_training_two_cpu_processes(tiny_dataset, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(29500 + os.getpid() % 1000))
    work = str(tmp_path / 'dist')
    proc = subprocess.run(['bash', osp.join(TOOLS, 'dist_train.sh'), TINY_CONFIG, '2', '--work-dir', work,
                           '--cfg-options', *data_opts(tiny_dataset),
                           'train_cfg.max_iters=4', 'train_cfg.val_interval=4'],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # MMEngine's name for the world size
    # Each rank evaluated half of the 4 validation images and rank 0 scored all of them:
    # results really were gathered across the two processes.
    assert 'Iter(val) [2/2]' in log and '4 images |' in log
    assert osp.isfile(osp.join(work, 'iter_4.pth'))


def test_cross_validate_runs_folds_and_compares(tiny_dataset, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    work = tmp_path / 'cv'
    opts = [*data_opts(tiny_dataset), 'train_cfg.max_iters=2', 'train_cfg.val_interval=2']
    run([osp.join(TOOLS, 'cross_validate.py'), 'run', TINY_CONFIG, '--folds', '0', '1', '--work-dir', str(work),
         '--cfg-options', *opts], env)
    summary = json.load(open(work / 'cv_summary.json'))
    assert summary['folds'] == [0, 1]
    assert len(summary['metrics']['mDice']['folds']) == 2
    per_fold = [json.load(open(work / f'fold{k}' / 'test_metrics.json'))['nucleus/mDice'] for k in (0, 1)]
    assert summary['metrics']['mDice']['folds'] == pytest.approx(per_fold)
    assert summary['metrics']['mDice']['mean'] == pytest.approx(np.mean(per_fold))
    proc = run([osp.join(TOOLS, 'cross_validate.py'), 'compare', str(work / 'cv_summary.json'),
                str(work / 'cv_summary.json')], env)
    assert '| mDice |' in proc.stdout
