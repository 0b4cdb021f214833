"""hemaseg.cross_validation and mmengine_plugins.cross_validation (behind tools/cross_validate.py): the
paper's t-test (spec 000 §6.4 Table 4), fold discovery and selection through `fold=k`, and no reuse of
results made with another config or options."""
import json
import os
import os.path as osp
import subprocess

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY_CONFIG
from hemaseg import cross_validation as hcv
from mmengine_plugins import cross_validation as cv

# spec 000 §6.4 Table 4: SegNeXt (Group 1) vs MSFF-SegNeXt (Group 2), mean ± SD over n = 3 folds;
# t and p as §6.1 [INFERRED] reproduces them (ttest_ind_from_stats, equal_var=True), and the paper's own.
TABLE4 = {  # metric: (mean1, sd1, mean2, sd2, t, p, paper t, paper p)
    'Dice': (0.9165, 0.0094, 0.9422, 0.0065, -3.895, 0.0176, -3.891, 0.018),
    'IoU': (0.8495, 0.0150, 0.8926, 0.0109, -4.026, 0.0158, -4.010, 0.016),
    'Accuracy': (0.9501, 0.0044, 0.9659, 0.0024, -5.460, 0.0055, -5.500, 0.005),
    'Precision': (0.8926, 0.0112, 0.9316, 0.0093, -4.640, 0.0097, -4.653, 0.010),
    'Recall': (0.9475, 0.0054, 0.9566, 0.0036, -2.429, 0.0721, -2.408, 0.074),
}


@pytest.mark.parametrize('metric', list(TABLE4))
def test_t_test_reproduces_paper_table4(metric):
    from scipy.stats import ttest_ind_from_stats
    m1, s1, m2, s2, t_spec, p_spec, t_paper, p_paper = TABLE4[metric]
    t, p = hcv.student_t_test(m1, s1, 3, m2, s2, 3)
    assert round(t, 3) == t_spec and round(p, 4) == p_spec
    ref = ttest_ind_from_stats(m1, s1, 3, m2, s2, 3, equal_var=True)
    assert t == pytest.approx(ref.statistic, rel=1e-12) and p == pytest.approx(ref.pvalue, rel=1e-9)
    # the paper's printed values differ only by the rounding of its means and SDs
    assert abs(t - t_paper) < 0.05 and abs(p - p_paper) < 0.0025


def test_compare_uses_the_same_test_on_fold_values():
    from scipy.stats import ttest_ind
    a = {'metrics': {'mDice': {'folds': [0.91, 0.93, 0.92, 0.90, 0.94]}, 'only_a': {'folds': [1, 2]}}}
    b = {'metrics': {'mDice': {'folds': [0.95, 0.94, 0.96, 0.93, 0.95]}}}
    [(name, _, _, t, p)] = hcv.t_test(a, b)
    ref = ttest_ind(a['metrics']['mDice']['folds'], b['metrics']['mDice']['folds'], equal_var=True)
    assert name == 'mDice' and t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    assert t < 0  # Group 2 higher
    same = hcv.t_test(a, a)[0]
    assert same[3] == 0.0 and same[4] == pytest.approx(1.0)
    assert all(np.isnan(hcv.student_t_test(0.5, 0.0, 3, 0.5, 0.0, 3)))
    with pytest.raises(ValueError, match='n1 \\+ n2 >= 3'):
        hcv.student_t_test(0.5, 0.1, 1, 0.6, 0.1, 1)


def test_summarize_reports_coco_metrics_and_lists_unknown_keys(tmp_path, capsys):
    coco = {k: {'bbox_mAP': 0.5 + k / 10, 'segm_mAP': 0.4 + k / 10, 'segm_mAP_50': 0.8,
                'bbox_mAP_copypaste': '0.5 0.8 ...'} for k in range(3)}
    s = hcv.summarize(coco)
    assert set(s) == {'bbox_mAP', 'segm_mAP', 'segm_mAP_50'}
    assert s['segm_mAP']['mean'] == pytest.approx(0.5) and s['segm_mAP']['std'] == pytest.approx(0.1)
    hcv.write_summary('x.py', str(tmp_path), {0: {'acc': 0.5}, 1: {'acc': 0.6}})  # must not crash
    summary = json.loads((tmp_path / 'cv_summary.json').read_text())
    assert summary['metrics'] == {} and summary['unreported_keys'] == ['acc']
    assert 'keys found: acc' in capsys.readouterr().err


def data_opts(root):
    return [f'{d}.dataset.data_root={root}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def test_default_folds_are_the_folds_on_disk(tiny_dataset, tmp_path):
    info = cv.inspect_config(TINY_CONFIG, data_opts(tiny_dataset))
    assert info['scope'] == 'mmseg' and info['folds_on_disk'] == [0, 1, 2, 3, 4]
    assert info['test_template'] == osp.join(tiny_dataset, 'splits/fold{fold}_test.txt')
    from hemaseg.data.synthetic import generate_synthetic_dataset
    three = tmp_path / 'three'
    generate_synthetic_dataset(three, num_images=10, size=32, num_folds=3, log=lambda _: None)
    assert cv.inspect_config(TINY_CONFIG, data_opts(three))['folds_on_disk'] == [0, 1, 2]
    assert cv.inspect_config(TINY_CONFIG, data_opts(tmp_path / 'nothing'))['folds_on_disk'] == []


def test_coco_config_is_inspected_without_crashing():
    info = cv.inspect_config(osp.join(REPO_ROOT, 'configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py'), [])
    assert info['scope'] == 'mmdet' and info['test_template'] == 'data/wbc_coco/annotations/fold{fold}_test.json'


def test_run_refuses_configs_where_fold_would_change_nothing(tiny_dataset):
    fixed = 'test_dataloader.dataset.ann_file=splits/fold1_test.txt'
    with pytest.raises(SystemExit, match=r"no '\{fold\}' template: test_dataloader\.dataset\.ann_file="):
        cv.inspect_config(TINY_CONFIG, [*data_opts(tiny_dataset), fixed])
    with pytest.raises(SystemExit, match='do not pass fold=K'):
        cv.inspect_config(TINY_CONFIG, ['fold=1'])


class FakeTools:
    """Stands in for train.py / test.py: records the calls and writes what they would write."""

    def __init__(self):
        self.calls = []

    def __call__(self, cmd, check, stdout=None, stderr=None):
        tool, work_dir = osp.basename(cmd[1]), cmd[cmd.index('--work-dir') + 1]
        self.calls.append((tool, cmd))
        if stdout is not None:  # parallel folds: each writes its own log
            stdout.write(f'{tool} {work_dir}\n')
        if tool == 'train.py':
            os.makedirs(work_dir, exist_ok=True)
            open(osp.join(work_dir, 'best_nucleus_mDice_iter_2.pth'), 'w').close()
        else:
            with open(osp.join(work_dir, 'test_metrics.json'), 'w') as f:
                json.dump({'nucleus/mDice': 0.5 + len(self.calls) / 100}, f)
        return subprocess.CompletedProcess(cmd, 0)


def test_results_are_reused_only_for_the_same_config_options_and_fold(tiny_dataset, tmp_path, monkeypatch, capsys):
    fake = FakeTools()
    monkeypatch.setattr(cv.subprocess, 'run', fake)
    opts = data_opts(tiny_dataset)
    fold_dir = str(tmp_path / 'fold1')

    first = cv.run_fold(TINY_CONFIG, 1, fold_dir, opts)
    assert [t for t, _ in fake.calls] == ['train.py', 'test.py']
    for _, cmd in fake.calls:  # the fold is chosen by fold=k, not by ann_file overrides
        assert cmd[cmd.index('--cfg-options') + 1] == 'fold=1' and not any('ann_file' in c for c in cmd)
    assert '--per-image-csv' in fake.calls[1][1]
    fp = json.loads((tmp_path / 'fold1' / hcv.FINGERPRINT).read_text())
    assert fp['fold'] == 1 and fp['cfg_options'] == opts and fp['config'] == osp.abspath(TINY_CONFIG)
    assert len(fp['config_sha256']) == 64 and len(fp['effective_config_sha256']) == 64

    assert cv.run_fold(TINY_CONFIG, 1, fold_dir, opts) == first  # identical: reused, nothing run
    assert len(fake.calls) == 2 and 'reusing' in capsys.readouterr().out

    other = cv.run_fold(TINY_CONFIG, 1, fold_dir, [*opts, 'train_cfg.max_iters=3'])  # other options: retrain
    assert len(fake.calls) == 4 and other != first
    out = capsys.readouterr().out
    assert 'not reusing' in out and 'differs in cfg_options, effective_config_sha256' in out
    stale = [p for p in tmp_path.iterdir() if p.name.startswith('fold1.stale-')]
    assert len(stale) == 1 and (stale[0] / 'test_metrics.json').is_file()  # old results kept aside

    (tmp_path / 'fold1' / hcv.FINGERPRINT).unlink()  # e.g. made by the old tool: no fingerprint
    cv.run_fold(TINY_CONFIG, 1, fold_dir, [*opts, 'train_cfg.max_iters=3'])
    assert len(fake.calls) == 6 and f'has no {hcv.FINGERPRINT}' in capsys.readouterr().out

    # the same options for another fold, or another config text, never match
    expected = cv.fingerprint(TINY_CONFIG, [*opts, 'train_cfg.max_iters=3'], 1)
    assert hcv.reusable(fold_dir, expected)[0]
    assert hcv.reusable(fold_dir, {**expected, 'fold': 2}) == (False, f'{fold_dir}/{hcv.FINGERPRINT} differs in fold')
    edited = tmp_path / 'edited.py'
    text = open(TINY_CONFIG).read().replace("'../../configs/", repr(osp.join(REPO_ROOT, 'configs', ''))[:-1])
    edited.write_text(text.replace('max_iters = 8', 'max_iters = 9'))
    changed = cv.fingerprint(str(edited), [*opts, 'train_cfg.max_iters=3'], 1)
    assert changed['config_sha256'] != expected['config_sha256']


def test_parallel_folds_run_at_once_with_their_own_logs_and_options(tiny_dataset, tmp_path, monkeypatch):
    """--parallel N: the folds' trainings overlap in time (each waits until all N have started),
    each fold writes fold<k>.log, and the run options reach train.py / test.py and the fingerprint."""
    import threading
    started = threading.Barrier(3, timeout=30)  # three folds at once, or the barrier times out
    fake = FakeTools()

    def overlapping(cmd, check, stdout=None, stderr=None):
        if osp.basename(cmd[1]) == 'train.py':
            started.wait()
        return fake(cmd, check, stdout, stderr)
    monkeypatch.setattr(cv.subprocess, 'run', overlapping)
    opts = data_opts(tiny_dataset)
    run_options = ['--amp', 'bf16', '--workers', 'auto', '--processes', '3']
    per_fold = cv.run_folds(TINY_CONFIG, [0, 1, 2], str(tmp_path), opts, True, parallel=3, run_options=run_options)
    assert sorted(per_fold) == [0, 1, 2]
    for k in (0, 1, 2):
        assert (tmp_path / f'fold{k}.log').read_text().splitlines() == [
            f'train.py {tmp_path}/fold{k}', f'test.py {tmp_path}/fold{k}']
        assert json.loads((tmp_path / f'fold{k}' / hcv.FINGERPRINT).read_text())['run_options'] == run_options
    trains = [cmd for tool, cmd in fake.calls if tool == 'train.py']
    assert len(trains) == 3 and all(cmd[3:5 + len(run_options)] == ['--work-dir', cmd[4], *run_options] for cmd in trains)
    with pytest.raises(threading.BrokenBarrierError):  # one at a time never has three trainings running together
        started.reset()
        cv.run_folds(TINY_CONFIG, [3], str(tmp_path / 'one'), opts, True, parallel=1)
