"""Timing of the benchmark: the interleaved (round-robin) schedule, timing on a host clock or with
device events, medians and IQRs, ratios of medians, paired (within-round) ratios and the repeat
check. Plain Python except :func:`with_precision` and :func:`measure_timing` (PyTorch); the
statistics are unit-tested with a fake clock. Why interleaved and paired: ``tools/benchmark.py``.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Sequence, Tuple

if TYPE_CHECKING:
    from .bench import Bench

# Defaults of the timing (see the docstring of tools/benchmark.py), chosen from repeated measurements of SegNeXt-T vs
# MSFF-SegNeXt at 64x64 with 1 thread (the shortest iterations, so the most scheduler noise) on the
# 2-core development CPU while other jobs kept its load at 2-5. With 60 inference / 40 training rounds
# the paired ratios (x paired) of four measurements (two invocations with --repeat-check) stayed within
# 0.8 % (inference) and 1.5 % (training) of each other, the ratios of medians (x) within 4.4 % and 6.3 %;
# with 30 / 15 rounds the ratios of medians moved by up to 10-18 % between repetitions. On such a busy
# machine prefer x paired; on a quiet one the two agree.
DEFAULT_WARMUP = 3
DEFAULT_ITERS = 60
DEFAULT_TRAIN_WARMUP = 2
DEFAULT_TRAIN_ITERS = 40
REPEAT_TOLERANCE = 0.05


def interleaved_schedule(names: Sequence[str], warmup: int, iters: int) -> List[Tuple[str, bool]]:
    """The calls of an interleaved measurement, in order: ``(name, timed)``.

    Round r (0-based) calls every model once, in ``names`` order; rounds ``0..warmup-1`` are
    warm-up (``timed=False``), the next ``iters`` rounds are timed.
    """
    if warmup < 0 or iters < 1:
        raise ValueError(f'need warmup >= 0 and iters >= 1, got warmup={warmup}, iters={iters}')
    if len(set(names)) != len(names):
        raise ValueError(f'model names must be distinct, got {list(names)}')
    return [(name, r >= warmup) for r in range(warmup + iters) for name in names]


def time_interleaved(fns: Dict[str, Callable[[], object]], warmup: int, iters: int,
                     clock: Callable[[], float] = time.perf_counter,
                     sync: Callable[[], None] | None = None) -> Dict[str, List[float]]:
    """Runs ``fns`` round-robin (:func:`interleaved_schedule`) and returns each one's timed
    durations (seconds, in call order). ``sync`` (e.g. ``torch.cuda.synchronize``) runs before
    reading the clock on both sides of every call, so asynchronous work is inside its own call."""
    sync = sync or (lambda: None)
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for name, timed in interleaved_schedule(list(fns), warmup, iters):
        sync()
        t0 = clock()
        fns[name]()
        sync()
        elapsed = clock() - t0
        if timed:
            times[name].append(elapsed)
    return times


def time_interleaved_events(fns: Dict[str, Callable[[], object]], warmup: int, iters: int,
                            new_event: Callable[[], object], synchronize: Callable[[], None]) -> Dict[str, List[float]]:
    """:func:`time_interleaved` timed by device events (``torch.cuda.Event(enable_timing=True)``):
    an event is recorded before and after every call, and the host waits for the device once, at
    the end. The host never stalls between calls, so a model's queued kernels run back to back as
    in training, and the times are the device's. Returns seconds, as :func:`time_interleaved`."""
    marks: Dict[str, list] = {name: [] for name in fns}
    for name, timed in interleaved_schedule(list(fns), warmup, iters):
        start, end = new_event(), new_event()
        start.record()
        fns[name]()
        end.record()
        if timed:
            marks[name].append((start, end))
    synchronize()
    return {name: [start.elapsed_time(end) / 1000.0 for start, end in pairs] for name, pairs in marks.items()}


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    xs = sorted(values)
    if not xs:
        raise ValueError('quantile of an empty sequence')
    if not 0.0 <= q <= 1.0:
        raise ValueError(f'q must be in [0, 1], got {q}')
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(values: Sequence[float]) -> dict:
    """Median, quartiles, IQR (q3 - q1) and count of one model's timed iterations."""
    q1, median, q3 = (quantile(values, q) for q in (0.25, 0.5, 0.75))
    return dict(median=median, q1=q1, q3=q3, iqr=q3 - q1, n=len(values))


def ratios_of_medians(summaries: Dict[str, dict], baseline_of: Dict[str, str]) -> Dict[str, float]:
    """``median(model) / median(its baseline)`` for every model (time ratios: > 1 is slower)."""
    return {name: s['median'] / summaries[baseline_of[name]]['median'] for name, s in summaries.items()}


def paired_ratios(times: Dict[str, List[float]], name: str, baseline: str, throughput: bool) -> List[float]:
    """The ratio within each timed round: the model and its baseline ran back to back there, so a
    period in which the machine is slower for both (another job) cancels out. ``throughput``:
    baseline time / model time (img/s ratio), else model time / baseline time."""
    pairs = zip(times[name], times[baseline])
    return [b / m if throughput else m / b for m, b in pairs]


# (phase, reported as a throughput ratio): inference as img/s, training as step time
PHASES = (('infer', True), ('train', False))


def analyse(raw: dict, baseline_of: Dict[str, str]) -> dict:
    """``raw``: ``{'infer': {name: [seconds per timed round]}, 'train': {...}}`` (rounds aligned across
    models). Returns, per phase and model: ``time`` (summary of its times), ``ratio`` (ratio of
    medians to its baseline, inference as img/s ratio) and ``paired`` (summary of the per-round ratios).

    A phase lists only the models that have it (no ``train`` entry for a model without a training
    step); a model whose baseline lacks the phase gets ``ratio`` and ``paired`` None."""
    out = {}
    for phase, throughput in PHASES:
        times = raw.get(phase, {})
        summaries = {name: summarize(v) for name, v in times.items()}
        compared = [name for name in times if baseline_of[name] in times]  # baselines included (their own)
        rom = ratios_of_medians({name: summaries[name] for name in compared}, baseline_of)
        out[phase] = {}
        for name in times:
            ratio = paired = None
            if name in compared:
                ratio = 1 / rom[name] if throughput else rom[name]
                paired = summarize(paired_ratios(times, name, baseline_of[name], throughput))
            out[phase][name] = dict(time=summaries[name], ratio=ratio, paired=paired)
    return out


def relative_difference(first: float, second: float) -> float:
    """``|second - first| / |first|``: how far a rerun's ratio moved, relative to the first run."""
    return abs(second - first) / abs(first)


def repeat_check(analyses: Sequence[dict], baseline_of: Dict[str, str]) -> List[dict]:
    """Both runs' ratios (of medians, and the paired median) of every non-baseline model, inference
    as img/s ratio and training as step-time ratio, with their relative differences."""
    first, second = analyses
    rows = []
    for phase, _ in PHASES:
        for name in first[phase]:
            if baseline_of[name] == name or first[phase][name]['ratio'] is None:
                continue  # the baseline itself, or a model whose baseline lacks this phase
            a, b = first[phase][name], second[phase][name]
            rows.append(dict(model=name, baseline=baseline_of[name], phase=phase,
                             ratio=(a['ratio'], b['ratio']), paired=(a['paired']['median'], b['paired']['median']),
                             ratio_diff=relative_difference(a['ratio'], b['ratio']),
                             paired_diff=relative_difference(a['paired']['median'], b['paired']['median'])))
    return rows


def with_precision(fn: Callable[[], object] | None, precision: str, device: str) -> Callable[[], object] | None:
    """``fn`` under bf16 autocast (``precision`` 'bf16'), or ``fn`` itself ('fp32')."""
    if fn is None or precision == 'fp32':
        return fn
    import torch

    def autocast_fn():
        with torch.autocast(device.split(':')[0], dtype=torch.bfloat16):
            return fn()
    return autocast_fn


def measure_timing(benches: Dict[str, Bench], args, log=print, precision: str = 'fp32') -> dict:
    """One interleaved measurement of every model: ``{'infer': {name: [s, ...]}, 'train': {...}}``, the
    timed rounds' durations in round order. On CUDA the calls are timed with CUDA events. ``args``
    has the tool's ``device``, ``warmup``, ``iters``, ``train_warmup`` and ``train_iters``."""
    import torch
    cuda = args.device.startswith('cuda')

    def timed(fns, warmup, iters):
        fns = {n: with_precision(f, precision, args.device) for n, f in fns.items()}
        if cuda:
            return time_interleaved_events(fns, warmup, iters, lambda: torch.cuda.Event(enable_timing=True),
                                           torch.cuda.synchronize)
        return time_interleaved(fns, warmup, iters)
    torch.manual_seed(0)
    for b in benches.values():
        b.reset()
        b.set_training(False)
    log(f'  inference: {args.warmup} warm-up + {args.iters} timed rounds over {len(benches)} model(s)', flush=True)
    with torch.no_grad():
        infer = timed({n: b.infer for n, b in benches.items()}, args.warmup, args.iters)
    steps = {n: b.step for n, b in benches.items() if b.step is not None}  # models with a training step
    train = {}
    if steps:
        for name in steps:
            benches[name].set_training(True)
        log(f'  training: {args.train_warmup} warm-up + {args.train_iters} timed rounds over {len(steps)} '
            f'model(s) with a training step', flush=True)
        train = timed(steps, args.train_warmup, args.train_iters)
    return dict(infer=infer, train=train)
