"""hemaseg.benchmarking (behind tools/benchmark.py): interleaved timing, medians and ratios (unit tests on a
fake clock), and end-to-end runs of the tool that reports every model with ratios to SegNeXt-T."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, have
from hemaseg.benchmarking.bench import Bench, check_size_divisor, network_input, seg_bench, seg_loss, synthetic_smear
from hemaseg.benchmarking.models import BASELINE, CAD_BASELINE, CAD_MODELS, MODELS
from hemaseg.benchmarking.report import (bf16_peak_tflops, command_line, format_notes, format_repeat_check, format_table,
                                         format_tflops)
from hemaseg.benchmarking.timing import (analyse, interleaved_schedule, paired_ratios, quantile, ratios_of_medians,
                                         repeat_check, summarize, time_interleaved, time_interleaved_events)


class FakeClock:
    """A clock that only moves when a fake model "runs": ``advance`` adds that call's duration."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fake_models(clock, durations):
    """``{name: fn}``; every call of ``name`` takes the next value of ``durations[name]`` and is logged."""
    log, left = [], {n: list(d) for n, d in durations.items()}

    def make(name):
        def run():
            log.append(name)
            clock.now += left[name].pop(0)
        return run

    return {n: make(n) for n in durations}, log


def test_schedule_is_round_robin_with_warmup_rounds_first():
    sched = interleaved_schedule(['A', 'B', 'C'], warmup=2, iters=3)
    assert [n for n, _ in sched] == ['A', 'B', 'C'] * 5
    assert [t for _, t in sched] == [False] * 6 + [True] * 9
    with pytest.raises(ValueError):
        interleaved_schedule(['A', 'A'], 1, 1)
    with pytest.raises(ValueError):
        interleaved_schedule(['A'], 1, 0)


def test_time_interleaved_calls_models_alternately_and_drops_warmup():
    clock = FakeClock()
    # Warm-up calls are very slow (first-call allocation, lazy init): they must not be timed.
    durations = {'A': [50.0, 1.0, 1.1, 0.9], 'B': [70.0, 2.0, 2.2, 1.8]}
    fns, log = fake_models(clock, durations)
    syncs = []
    times = time_interleaved(fns, warmup=1, iters=3, clock=clock, sync=lambda: syncs.append(1))
    assert log == ['A', 'B', 'A', 'B', 'A', 'B', 'A', 'B']  # interleaved, not A A A A B B B B
    assert times == {'A': pytest.approx([1.0, 1.1, 0.9]), 'B': pytest.approx([2.0, 2.2, 1.8])}
    assert len(syncs) == 2 * len(log)  # before and after every call


def test_quantiles_median_and_iqr():
    assert quantile([4, 1, 3, 2], 0.5) == pytest.approx(2.5)
    assert quantile([1, 2, 3, 4], 0.25) == pytest.approx(1.75)  # numpy 'linear'
    assert quantile([1, 2, 3, 4], 0.75) == pytest.approx(3.25)
    assert quantile([7.0], 0.75) == 7.0
    s = summarize([1.0, 1.2, 0.8, 1.1, 0.9, 30.0])  # one iteration hit by another job
    assert s['median'] == pytest.approx(1.05)  # the mean would be 5.83
    assert s['q1'] == pytest.approx(0.925) and s['q3'] == pytest.approx(1.175)
    assert s['iqr'] == pytest.approx(0.25) and s['n'] == 6


def test_ratios_are_ratios_of_medians_to_each_group_baseline():
    summaries = {'A': dict(median=2.0), 'B': dict(median=3.0), 'C': dict(median=4.0), 'D': dict(median=1.0)}
    baseline_of = {'A': 'A', 'B': 'A', 'C': 'C', 'D': 'C'}
    assert ratios_of_medians(summaries, baseline_of) == pytest.approx(
        {'A': 1.0, 'B': 1.5, 'C': 1.0, 'D': 0.25})


def test_interleaving_and_median_keep_the_ratio_when_the_machine_slows_down():
    """Another job takes the CPU for a while: every call in that window runs 3x slower. Round-robin
    puts both models' calls in the window alike, and the median ignores it, so the measured ratio is
    the true cost ratio; timing A's iterations and then B's (the old design) is off by a factor."""
    cost = {'A': 1.0, 'B': 1.5}
    clock = FakeClock()

    def make(name):
        def run():
            slow = 3.0 if 10.0 <= clock.now < 25.0 else 1.0
            clock.now += cost[name] * slow
        return run

    fns = {n: make(n) for n in cost}
    times = time_interleaved(fns, warmup=1, iters=15, clock=clock)
    summaries = {n: summarize(t) for n, t in times.items()}
    assert ratios_of_medians(summaries, {'A': 'A', 'B': 'A'})['B'] == pytest.approx(1.5)
    # the same calls, one model after the other
    clock.now = 0.0
    seq = {n: time_interleaved({n: fns[n]}, warmup=1, iters=15, clock=clock)[n] for n in fns}
    seq_ratio = (sum(seq['B']) / len(seq['B'])) / (sum(seq['A']) / len(seq['A']))
    assert abs(seq_ratio - 1.5) > 0.2


def test_paired_ratios_cancel_load_that_hits_both_models_of_a_round():
    # Round 2 ran while another job had the CPU: both models 4x slower in that round only.
    times = {'A': [1.0, 4.0, 1.0, 1.2], 'B': [2.0, 8.0, 2.0, 2.4]}
    assert paired_ratios(times, 'B', 'A', throughput=False) == pytest.approx([2.0] * 4)
    assert paired_ratios(times, 'B', 'A', throughput=True) == pytest.approx([0.5] * 4)
    a = analyse(dict(infer=times, train=times), {'A': 'A', 'B': 'A'})
    assert a['infer']['B']['ratio'] == pytest.approx(1.1 / 2.2)  # img/s ratio = median(A) / median(B)
    assert a['train']['B']['ratio'] == pytest.approx(2.2 / 1.1)
    assert a['train']['B']['paired']['median'] == pytest.approx(2.0) and a['train']['B']['paired']['iqr'] == 0
    assert a['infer']['A']['ratio'] == 1.0 and a['infer']['A']['paired']['median'] == 1.0
    assert a['infer']['B']['time']['median'] == pytest.approx(2.2)


def test_paired_ratio_is_steadier_than_the_ratio_of_medians_under_bursty_load():
    """Another job takes the CPU at random moments for several seconds (the slowdown varies between
    bursts): two measurements' ratios of medians can disagree, the paired ratios do not."""
    import random
    cost = {'A': 1.0, 'B': 1.3}

    def measure(seed):
        rng, clock = random.Random(seed), FakeClock()
        load = dict(factor=1.0, until=0.0)

        def make(name):
            def run():
                if clock.now >= load['until']:  # a new period: quiet, or a burst of another job
                    load['factor'] = rng.choice([1.0, 1.0, 2.0, 3.5])
                    load['until'] = clock.now + rng.uniform(2.0, 12.0)
                clock.now += cost[name] * load['factor']
            return run

        raw = {p: time_interleaved({n: make(n) for n in cost}, 2, 30, clock=clock)
               for p in ('infer', 'train')}
        return analyse(raw, {'A': 'A', 'B': 'A'})

    rows = [r for seed in range(1, 6) for r in repeat_check([measure(seed), measure(seed + 100)],
                                                                     {'A': 'A', 'B': 'A'})]
    assert max(r['ratio_diff'] for r in rows) > 0.3  # some reruns move the ratio of medians a lot
    assert max(r['paired_diff'] for r in rows) < 0.02
    for r in rows:
        assert r['paired'] == pytest.approx((1 / 1.3,) * 2 if r['phase'] == 'infer' else (1.3, 1.3), rel=0.02)


def test_repeat_check_reports_both_runs_and_their_relative_difference():
    def run(a_inf, b_inf, a_tr, b_tr):
        return analyse(dict(infer={'A': a_inf, 'B': b_inf}, train={'A': a_tr, 'B': b_tr}),
                                 {'A': 'A', 'B': 'A'})

    baseline_of = {'A': 'A', 'B': 'A'}
    first = run([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    second = run([1.0, 1.0, 1.0], [2.1, 2.1, 2.1], [2.0, 2.0, 2.0], [6.0, 6.0, 6.0])
    rows = repeat_check([first, second], baseline_of)
    assert [(r['model'], r['phase']) for r in rows] == [('B', 'infer'), ('B', 'train')]
    infer, train = rows
    # inference is reported as a throughput ratio: B runs at 1/2 then 1/2.1 of A's img/s
    assert infer['ratio'] == pytest.approx((0.5, 1 / 2.1)) and infer['paired'] == pytest.approx((0.5, 1 / 2.1))
    assert infer['ratio_diff'] == pytest.approx(abs(1 / 2.1 - 0.5) / 0.5)
    assert train['ratio'] == pytest.approx((3.0, 3.0)) and train['ratio_diff'] == pytest.approx(0.0)
    text = format_repeat_check(rows)
    assert '| B | A | infer img/s ratio | 0.500 | 0.476 | 4.8 % |' in text
    assert 'within 5 %' in text and 'NOT' not in text
    worse = run([1.0, 1.0, 1.0], [2.4, 2.4, 2.4], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    assert 'NOT within 5 %' in format_repeat_check(repeat_check([first, worse], baseline_of))


def test_table_cells():
    static = {'A': dict(params=4e6, flops=6e9, peak_mb=1000.0), 'B': dict(params=6e6, flops=15e9, peak_mb=1200.0)}
    raw = dict(infer={'A': [0.5, 0.5, 0.5], 'B': [0.625, 0.6, 0.65]},
               train={'A': [2.0, 2.0, 2.0], 'B': [2.5, 2.5, 2.5]})
    table = format_table(static, analyse(raw, {'A': 'A', 'B': 'A'}), {'A': 'A', 'B': 'A'}, batch=2)
    head = [c.strip() for c in table.splitlines()[0].split('|')[1:-1]]
    cells = [c.strip() for c in table.splitlines()[-1].split('|')[1:-1]]
    assert len(cells) == len(head) == 14
    assert cells[:7] == ['B', '6.000', '1.50', '15.00', '2.50', '3.20', '0.80']  # 2 / 0.625 img/s, 0.5 / 0.625
    assert cells[7] == '0.80 (0.03)'  # per-round img/s ratios 0.800, 0.833, 0.769: q1 0.785, q3 0.817
    assert cells[8] == '0.6250 (0.0250)' and cells[9] == '2.500 (0.000)' and cells[10] == '1.25'
    assert cells[11] == '1.25 (0.00)' and cells[12:] == ['1200', '1.20']


@pytest.mark.skipif(not have('mmseg'), reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
def test_benchmark_reports_ratios_to_segnext(tmp_path):
    out = tmp_path / 'bench.md'
    proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--size', '64', '--warmup',
                           '1', '--iters', '2', '--train-warmup', '0', '--threads', '1', '--models', 'MSFF-SegNeXt',
                           '--repeat-check', '--out', str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    table = text.split('Achieved compute')[0]
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]]
            for line in table.splitlines() if line.startswith('| ') and 'model' not in line}
    assert set(rows) == {'SegNeXt-T', 'MSFF-SegNeXt'}  # the baseline is always measured too
    assert rows['SegNeXt-T'][1] == '1.00' and rows['SegNeXt-T'][3] == '1.00'
    assert rows['SegNeXt-T'][5] == '1.00' and rows['SegNeXt-T'][9] == '1.00'
    assert rows['SegNeXt-T'][6] == '1.00 (0.00)' and rows['SegNeXt-T'][10] == '1.00 (0.00)'
    # Parameter ratio from the exact counts of test_mmseg_msff: 6,138,072 / 4,225,378.
    assert rows['MSFF-SegNeXt'][0] == '6.138' and rows['MSFF-SegNeXt'][1] == '1.45'
    assert float(rows['MSFF-SegNeXt'][2]) > float(rows['SegNeXt-T'][2])  # EGA adds multiply-adds
    assert 'python tools/benchmark.py' in text and 'torch threads 1' in text
    assert '1 warm-up + 2 timed inference iterations and 0 + 2 training steps' in text
    # Achieved TFLOP/s: 2 x GMACs x img/s / 1000 for inference, 3 x that per training image.
    compute = text.split('Achieved compute')[1].split('Repeat check')[0]
    tflops = {line.split('|')[1].strip(): [float(c) for c in line.split('|')[2:4]]
              for line in compute.splitlines() if line.startswith('| ') and 'model' not in line}
    gmacs, img_s = float(rows['MSFF-SegNeXt'][2]), float(rows['MSFF-SegNeXt'][4])
    assert tflops['MSFF-SegNeXt'][0] == pytest.approx(2 * gmacs * img_s / 1000, rel=0.02, abs=2e-3)
    assert '| MSFF-SegNeXt | SegNeXt-T | infer img/s ratio |' in text  # the repeat check ran
    assert 'Largest relative difference' in text
    assert 'torch threads: 1' in proc.stdout


# ----------------------------------------------------------------------------------------------
# Issues #8 / #9: ALL-FABNET and the MONAI U-Net in --task seg, the explainable-CAD pipeline (--task cad)
# ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(not have('mmengine'), reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
def test_new_model_entries_resolve_to_the_configs_of_those_models():
    from mmengine.config import Config

    def model_of(path):
        assert osp.isfile(osp.join(REPO_ROOT, path)), path
        return Config.fromfile(osp.join(REPO_ROOT, path)).model

    unet = model_of(MODELS['MONAI U-Net'])
    assert (unet.backbone.type, unet.decode_head.type) == ('MonaiUNet', 'PassThroughHead')
    fab, no_fab = model_of(MODELS['ALL-FABNET']), model_of(MODELS['ALL-FABNET w/o FAB'])
    assert fab.decode_head.type == no_fab.decode_head.type == 'FABNetHead'
    assert fab.decode_head.out_channels == 1  # the one sigmoid channel the 1-channel loss path is for
    assert fab.decode_head.use_fab is True and no_fab.decode_head.use_fab is False
    assert BASELINE == 'SegNeXt-T'

    cad = {name: (model_of(config), kind) for name, (config, kind) in CAD_MODELS.items()}
    assert CAD_BASELINE == 'MONAI U-Net' and CAD_BASELINE in cad
    assert CAD_MODELS['MONAI U-Net'][0] == MODELS['MONAI U-Net']
    assert cad['Handcrafted'][0].type == 'HandcraftedNucleusSegmentor' and cad['Handcrafted'][1] == 'handcrafted'
    ensemble = cad['Ensemble'][0]
    assert ensemble.type == 'EnsembleNucleusSegmentor' and cad['Ensemble'][1] == 'ensemble'
    assert ensemble.deep_model == cad['MONAI U-Net'][0]  # the ensemble's deep model is the benchmarked U-Net
    cls, kind = cad['ResNet-50 Medium-Mish']
    assert kind == 'classifier' and cls.type == 'ImageClassifier' and cls.backbone.depth == 50
    assert cls.backbone.act_cfg.type == 'Mish' and cls.head.act_cfg.type == 'Mish'
    assert list(cls.head.mid_channels) == [1024, 512]  # Table 1 "Medium"


def fake_segmentor(channels):
    """The part of an mmseg segmentor that ``seg_bench`` uses: ``encode_decode`` -> (N, C, H, W) logits."""
    import torch

    class FakeSegmentor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, channels, 1)

        def encode_decode(self, x, metas):
            assert len(metas) == x.shape[0] and metas[0]['img_shape'] == tuple(x.shape[2:])
            return self.conv(x)

    return FakeSegmentor()


def test_segmentation_loss_is_bce_on_one_channel_and_cross_entropy_on_two():
    import torch
    torch.manual_seed(0)
    target = torch.randint(0, 2, (2, 5, 5))
    z = torch.randn(2, 1, 5, 5)
    p = 1 / (1 + torch.exp(-z[:, 0]))  # sigmoid by hand
    y = target.float()
    bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    assert seg_loss(z, target).item() == pytest.approx(bce.item(), rel=1e-5)
    z2 = torch.randn(2, 2, 5, 5)
    e = torch.exp(z2)
    picked = torch.where(target == 1, e[:, 1], e[:, 0]) / e.sum(1)  # softmax of the target class
    assert seg_loss(z2, target).item() == pytest.approx(-torch.log(picked).mean().item(), rel=1e-5)


@pytest.mark.parametrize('channels', [1, 2])
def test_training_step_of_a_one_or_two_channel_segmentor(channels):
    """The loss is chosen from the model's output: a 1-channel model (ALL-FABNET) trains through the
    same ``seg_bench`` as a 2-channel one (cross-entropy on one channel would fail)."""
    import torch
    torch.manual_seed(0)
    model = fake_segmentor(channels)
    x, target = torch.randn(2, 3, 8, 8), torch.randint(0, 2, (2, 8, 8))
    bench = seg_bench(model, x, target)
    initial = model.conv.weight.detach().clone()
    assert bench.num_params == 3 * channels + channels
    assert bench.infer().shape == (2, channels, 8, 8)
    before = seg_loss(model.conv(x), target).item()
    for _ in range(20):
        bench.step()
    assert seg_loss(model.conv(x), target).item() < before  # AdamW went downhill on that loss
    assert not torch.equal(model.conv.weight, initial)
    bench.reset()
    assert torch.equal(model.conv.weight, initial)


def test_bench_without_training_step():
    calls = []
    bench = Bench(None, lambda: calls.append(1), note='no network')
    assert bench.step is None and bench.num_params == 0 and bench.note == 'no network'
    bench.reset()
    bench.set_training(True)  # nothing to switch: no error
    bench.infer()
    assert calls == [1]
    with pytest.raises(ValueError):
        Bench(None, lambda: None, loss=lambda: None)  # a loss needs a model and an optimizer


def test_table_with_models_lacking_a_training_step_or_gmacs():
    # U (baseline): everything; H: no parameters, no GMACs, no training step; E: GMACs, no training step.
    static = {'U': dict(params=2e6, flops=4e9, peak_mb=1000.0),
              'H': dict(params=0, flops=None, peak_mb=900.0, note='no network'),
              'E': dict(params=2e6, flops=4e9, peak_mb=1100.0, note='inference only')}
    baseline_of = {'U': 'U', 'H': 'U', 'E': 'U'}
    raw = dict(infer={'U': [0.5, 0.5, 0.5], 'H': [0.1, 0.1, 0.1], 'E': [1.0, 1.0, 1.0]},
               train={'U': [2.0, 2.0, 2.0]})
    analysis = analyse(raw, baseline_of)
    assert set(analysis['train']) == {'U'}
    table = format_table(static, analysis, baseline_of, batch=2)
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[1:-1]] for line in table.splitlines()[2:]}
    # 2 images / 0.1 s = 20 img/s, 0.5 / 0.1 = 5x the baseline's throughput; 900 / 1000 MB
    assert rows['H'] == ['H', '0.000', '0.00', '-', '-', '20.00', '5.00', '5.00 (0.00)', '0.1000 (0.0000)',
                         '-', '-', '-', '900', '0.90']
    assert rows['E'][3:7] == ['4.00', '1.00', '2.00', '0.50'] and rows['E'][9:12] == ['-', '-', '-']
    assert rows['U'][9:12] == ['2.000 (0.000)', '1.00', '1.00 (0.00)']
    notes = format_notes(static)
    assert '* H: no network' in notes and '* E: inference only' in notes and 'U:' not in notes
    assert format_notes({'U': static['U']}) == ''
    # the repeat check compares only what exists: E's inference, nothing of H's or E's training
    rows = repeat_check([analysis, analysis], baseline_of)
    assert {(r['model'], r['phase']) for r in rows} == {('H', 'infer'), ('E', 'infer')}
    # a baseline without a training step: the others' training ratios are missing, not an error
    a = analyse(dict(infer={'H': [1.0], 'U': [2.0]}, train={'U': [2.0]}), {'H': 'H', 'U': 'H'})
    assert a['train']['U']['ratio'] is None and a['train']['U']['paired'] is None
    assert a['infer']['U']['ratio'] == pytest.approx(0.5)


def test_network_input_normalises_like_the_data_preprocessor_and_size_divisor_is_checked():
    import types

    import numpy as np
    import torch
    images = synthetic_smear(2, 16)
    assert images.shape == (2, 16, 16, 3) and images.dtype == np.uint8 and images.std() > 10
    pre = types.SimpleNamespace(_enable_normalize=True, mean=torch.tensor([10.0, 20.0, 30.0]).view(3, 1, 1),
                                std=torch.tensor([2.0, 4.0, 5.0]).view(3, 1, 1), size_divisor=8)
    x = network_input(images, pre, 'cpu')
    r, g, b = (float(v) for v in images[1, 3, 7])
    assert x.shape == (2, 3, 16, 16)
    assert x[1, :, 3, 7].tolist() == pytest.approx([(r - 10) / 2, (g - 20) / 4, (b - 30) / 5])
    model = types.SimpleNamespace(data_preprocessor=pre)
    check_size_divisor('M', 'm.py', model, 64)
    with pytest.raises(ValueError, match=r'M \(m.py\): --size 60 is not a multiple of 8'):
        check_size_divisor('M', 'm.py', model, 60)


def test_printed_command_can_be_pasted_back_into_a_shell():
    import shlex
    argv = ['--size', '128', '--models', 'SegNeXt-T', 'ALL-FABNET w/o FAB', '--out', 'work_dirs/b.md']
    command = command_line(argv)
    assert command == "python tools/benchmark.py --size 128 --models SegNeXt-T 'ALL-FABNET w/o FAB' --out work_dirs/b.md"
    assert shlex.split(command)[2:] == argv


@pytest.mark.skipif(not have('mmengine'), reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
def test_cad_child_reports_the_handcrafted_algorithm_without_parameters_or_gmacs():
    import json
    proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--child', 'Handcrafted',
                           '--task', 'cad', '--size', '64', '--threads', '1'],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith('RESULT '))
    result = json.loads(line[len('RESULT '):])
    assert result['params'] == 0 and result['flops'] is None and result['peak_mb'] > 0
    assert 'no training step' in result['note']


def test_event_timing_waits_for_the_device_once_and_drops_warmup():
    """CUDA-event timing, with fake events on a fake device clock: every call is bracketed by two
    recorded events, the host synchronises once at the end, and the times are the events' spans."""
    clock = {'t': 0.0}
    syncs = []

    class FakeEvent:
        def record(self):
            self.t = clock['t']

        def elapsed_time(self, end):  # milliseconds, as torch.cuda.Event
            return (end.t - self.t) * 1000.0

    cost = {'A': 0.5, 'B': 1.5}

    def make(name):
        def fn():
            clock['t'] += cost[name]
        return fn
    times = time_interleaved_events({n: make(n) for n in cost}, warmup=2, iters=3, new_event=FakeEvent,
                                              synchronize=lambda: syncs.append(clock['t']))
    assert times == {'A': [0.5] * 3, 'B': [1.5] * 3} and syncs == [10.0]  # 5 rounds x 2 s, one sync at the end


def test_achieved_tflops_table():
    static = {'A': dict(params=1e6, flops=5e9), 'B': dict(params=1e6, flops=None)}
    raw = dict(infer={'A': [0.01] * 3, 'B': [0.02] * 3}, train={'A': [0.05] * 3})
    text = format_tflops(static, analyse(raw, {'A': 'A', 'B': 'A'}), batch=4, peak=10.0)
    a = [c.strip() for c in text.splitlines()[2].split('|')[1:-1]]
    # inference 2 x 5 GMACs x 400 img/s = 4 TFLOP/s (40 % of 10); training 3 x 2 x 5e9 x 80 img/s = 2.4
    assert a == ['A', '4.000', '2.400', '40.00', '24.00']
    assert [c.strip() for c in text.splitlines()[3].split('|')[1:-1]] == ['B', '-', '-', '-', '-']
    assert bf16_peak_tflops('NVIDIA H200') == 989.0 and bf16_peak_tflops('Quadro') is None


@pytest.mark.skipif(not have('mmseg'), reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
def test_inline_static_pass_and_two_precisions(tmp_path):
    """--static inline (the CUDA default: no process per model) counts the same parameters and GMACs
    as the per-model processes; --precision fp32 bf16 times both (bf16 autocast on the CPU here)."""
    out = tmp_path / 'bench.md'
    proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--size', '64', '--warmup',
                           '0', '--iters', '1', '--train-warmup', '0', '--threads', '1', '--models', 'MSFF-SegNeXt',
                           '--static', 'inline', '--precision', 'fp32', 'bf16', '--out', str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'own process' not in proc.stdout and proc.stdout.count('(this process)') == 2
    text = out.read_text()
    assert '#### fp32' in text and '#### bf16 autocast' in text and 'in this process, one model at a time' in text
    fp32 = text.split('#### fp32')[1].split('Achieved compute')[0]
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]]
            for line in fp32.splitlines() if line.startswith('| ') and 'model' not in line}
    assert rows['MSFF-SegNeXt'][0] == '6.138' and rows['SegNeXt-T'][0] == '4.225'  # as the process pass counts
    assert rows['MSFF-SegNeXt'][-2:] == ['-', '-']  # no per-model peak memory on the CPU in one process
    child = json.loads(next(l for l in subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--child', 'MSFF-SegNeXt', '--size', '64',
         '--threads', '1'], cwd=REPO_ROOT, capture_output=True, text=True).stdout.splitlines()
        if l.startswith('RESULT '))[7:])
    assert rows['MSFF-SegNeXt'][2] == f"{child['flops'] / 1e9:.2f}"  # the same GMACs as the per-model process
