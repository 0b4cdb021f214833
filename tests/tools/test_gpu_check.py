"""tools/gpu_check.py: its time budget and report (hemaseg.gpu_check, with a fake clock) and a CPU
run of the whole tool with tiny models of every framework (Detectron2's only where installed)."""
import json
import math

import pytest

from conftest import have, run_tool
from hemaseg.gpu_check import EVAL_SHARE, GRACE_S, MIN_PART_S, Budget, Part, PartResult, format_report, loss_trend


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_budget_shares_the_remaining_time_among_the_parts_left():
    clock = FakeClock()
    budget = Budget(400.0, 4, clock=clock)
    first = budget.next_share()
    assert first['share_s'] == pytest.approx(100.0)  # 400 s / 4 parts
    assert first['train_s'] == pytest.approx(100.0 * (1 - EVAL_SHARE))
    assert first['kill_s'] == pytest.approx(100.0 + GRACE_S)
    clock.now = 40.0  # the first part finished early: its 60 s go to the three others
    assert budget.next_share()['share_s'] == pytest.approx(360.0 / 3)
    clock.now = 300.0  # the second overran: 100 s left for two parts
    assert budget.next_share()['share_s'] == pytest.approx(50.0)
    clock.now = 390.0  # 10 s left: below the minimum, so the last part is skipped
    assert 10.0 < MIN_PART_S and budget.next_share() is None
    with pytest.raises(RuntimeError, match='already had its share'):
        budget.next_share()


def test_a_skipped_part_leaves_its_share_to_the_others():
    budget = Budget(300.0, 3, clock=FakeClock())
    budget.skip()
    assert budget.next_share()['share_s'] == pytest.approx(150.0)
    with pytest.raises(ValueError):
        Budget(0, 1)


def test_loss_trend_windows_and_verdicts():
    first, last, verdict = loss_trend([4.0, 3.0, 2.0, 1.0])  # windows of 2: means 3.5 and 1.5
    assert (first, last, verdict) == (3.5, 1.5, 'finite, falling')
    assert loss_trend([1.0] * 30 + [2.0] * 10)[2] == 'finite, not falling'
    assert loss_trend([1.0] * 30 + [2.0] * 10)[:2] == (1.0, 2.0)  # windows of 10
    assert loss_trend([1.0, math.nan, 0.5])[2] == 'not finite (from iteration 1)'
    assert loss_trend([])[2] == 'no loss recorded'


def test_report_rows_and_reasons():
    ok = PartResult(Part('mmseg', 'MSFF-SegNeXt', 'c.py', 'WBC fold 0'), 'ok', iterations=300, timed_iterations=295,
                    train_seconds=59.0, batch_size=8, peak_memory_mb=1234.4, losses=[1.0] * 10 + [0.5] * 10,
                    metric_name='nucleus/mDice', metric=0.91234, wall_seconds=80)
    skipped = PartResult(Part('mmdet', 'YOLACT-CIS', 'y.py'), 'skipped', reason='mmcv was built with CPU ops only')
    text = format_report([ok, skipped], ['GPU: test'], 'python tools/gpu_check.py')
    row = next(line for line in text.splitlines() if line.startswith('| mmseg'))
    # 295 timed iterations in 59 s = 5 it/s, x 8 images = 40 img/s
    assert '| 5.00 | 40.0 | 1234 | 1.0000 | 0.5000 | finite, falling | nucleus/mDice 0.9123 |' in row
    assert '- mmdet YOLACT-CIS: skipped: mmcv was built with CPU ops only' in text
    assert '| mmdet | YOLACT-CIS | synthetic | skipped | 0 | - | - | - |' in text


TINY = {'mmseg': 'tests/configs/msff_tiny.py', 'mmdet': 'tests/configs/yolact_cis_tiny.py',
        'mmpretrain': 'tests/configs/gpu_check_cls_tiny.py', 'detectron2': 'tests/configs/det2_mask_rcnn_tiny.yaml'}


def test_cpu_run_of_every_framework_writes_the_report(tmp_path):
    frameworks = [fw for fw in TINY if have(fw)]
    out = tmp_path / 'report.md'
    run_tool(['tools/gpu_check.py', '--device', 'cpu', '--minutes', '8', '--iters', '6', '--workers', '0',
              '--work-dir', str(tmp_path / 'work'), '--out', str(out), '--frameworks', *frameworks,
              '--config', *[f'{fw}={TINY[fw]}' for fw in frameworks]], timeout=900)
    text = out.read_text()
    rows = {line.split('|')[1].strip(): line for line in text.splitlines() if line.startswith('| m') or
            line.startswith('| detectron2')}
    assert sorted(rows) == sorted(frameworks)
    results = {r['part']['framework']: r for r in json.loads((tmp_path / 'report.json').read_text())}
    for fw in frameworks:
        r = results[fw]
        assert r['status'] == 'ok', (fw, r['reason'])
        assert r['iterations'] == 6 and len(r['losses']) == 6 and all(math.isfinite(x) for x in r['losses'])
        assert r['metric'] is not None and r['metric_name'], fw  # it was evaluated
        assert '| ok | 6 |' in rows[fw]
    assert 'device: CPU' in text and 'synthetic' in rows[frameworks[0]]


def test_a_spent_budget_skips_parts_and_says_why(tmp_path):
    out = tmp_path / 'report.md'
    # 0.01 min = 0.6 s: below the minimum share of any part, so nothing runs.
    proc = run_tool(['tools/gpu_check.py', '--device', 'cpu', '--minutes', '0.01', '--iters', '4', '--frameworks',
                     'mmseg', '--config', f'mmseg={TINY["mmseg"]}', '--work-dir', str(tmp_path / 'w'), '--out', str(out)])
    assert '-> skipped: time budget spent' in proc.stdout
    assert 'mmseg msff_tiny: skipped: time budget spent' in out.read_text()


def test_bad_arguments_are_named(tmp_path):
    proc = run_tool(['tools/gpu_check.py', '--device', 'cpu', '--config', 'mmseg=configs/nope.py'], check=False)
    assert proc.returncode != 0 and 'error: --config mmseg=configs/nope.py: no such file' in proc.stderr
    proc = run_tool(['tools/gpu_check.py', '--device', 'cpu', '--config', 'caffe=x.py'], check=False)
    assert 'the frameworks are mmseg, mmdet, mmpretrain, detectron2' in proc.stderr
