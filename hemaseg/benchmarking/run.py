"""One whole benchmark run as ``tools/benchmark.py`` asks for it: which models (a baseline is always
measured with the models compared to it), their static metrics (here or one child process per
model), the interleaved timing in each precision (twice with the repeat check) and the report.

The models come from a ``build(task, name, size, batch, device) -> (Bench, MAC counter or None)``
the caller passes in: the framework adapters build them, and this module imports none of them.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

from .bench import Bench, static_metrics_inline
from .models import REPO_ROOT, baselines_of, models_of
from .report import benchmark_report, bf16_peak_tflops, command_line, report_header
from .timing import measure_timing

BuildFn = Callable[[str, str, int, int, str], Tuple[Bench, Callable[[], float] | None]]


def select_models(task: str, requested: Sequence[str] | None) -> Tuple[List[str], Dict[str, str]]:
    """``(models to measure, {model: its baseline})``: ``requested`` (default every model of
    ``task``) plus the baselines they are compared to, in the table's order. ValueError names the
    requested models that are not models of ``task``."""
    table = models_of(task)
    models = list(requested or table)
    wrong = [m for m in models if m not in table]
    if wrong:
        raise ValueError(f'--models {wrong} are not {task} models; choose from {list(table)}')
    baseline_of = baselines_of(task)
    for base in dict.fromkeys(baseline_of[m] for m in list(models)):
        if base not in models:
            models.insert(0, base)
    return [m for m in table if m in models], baseline_of


def child_static_metrics(script: str, args, name: str) -> dict:
    """The static metrics of ``name`` from a child process of ``script`` (the tool, run with
    ``--child NAME``), so that the process's peak memory belongs to that model alone."""
    cmd = [sys.executable, script, '--child', name, '--task', args.task, '--size', str(args.size),
           '--batch', str(args.batch), '--device', args.device, '--threads', str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    line = next((l for l in proc.stdout.splitlines() if l.startswith('RESULT ')), None)
    if proc.returncode or line is None:
        sys.exit(f'error: benchmarking {name} failed:\n{proc.stderr[-3000:]}')
    return json.loads(line[7:])


def run_benchmark(args, baseline_of: Dict[str, str], build: BuildFn, script: str, argv: Sequence[str]) -> None:
    """Measure ``args.models`` (already completed by :func:`select_models`), print the report and
    write it to ``args.out`` if given. ``args``: the tool's parsed arguments; ``script``: the tool
    (started with ``--child`` for the per-model processes); ``argv``: its arguments, for the
    command line the report prints."""
    import torch
    cuda = args.device.startswith('cuda')
    if cuda and not torch.cuda.is_available():
        sys.exit('error: --device cuda, but torch sees no CUDA device (torch.cuda.is_available() is False)')
    args.static = args.static or ('inline' if cuda else 'process')
    args.precision = args.precision or (['fp32', 'bf16'] if cuda and torch.cuda.is_bf16_supported() else ['fp32'])
    static = {}
    for i, name in enumerate(args.models, 1):
        t0 = time.perf_counter()
        if args.static == 'inline':
            print(f'[{i}/{len(args.models)}] {name}: parameters, GMACs, peak memory (this process) ...', flush=True)
            static[name] = static_metrics_inline(lambda: build(args.task, name, args.size, args.batch, args.device),
                                                 args.device)
        else:
            print(f'[{i}/{len(args.models)}] {name}: parameters, GMACs, peak memory (own process) ...', flush=True)
            static[name] = child_static_metrics(script, args, name)
        print(f'    {time.perf_counter() - t0:.1f} s', flush=True)

    print(f'timing {", ".join(args.models)} interleaved in this process ...', flush=True)
    benches = {name: build(args.task, name, args.size, args.batch, args.device)[0] for name in args.models}
    by_precision = {}
    for precision in args.precision:
        print(f'{precision}:', flush=True)
        runs = [measure_timing(benches, args, precision=precision)]
        if args.repeat_check:
            print('repeat check: the same measurement again ...', flush=True)
            runs.append(measure_timing(benches, args, precision=precision))
        by_precision[precision] = runs
    header = report_header(args, static, baseline_of, command_line(argv))
    peak = args.peak_tflops or (bf16_peak_tflops(torch.cuda.get_device_name()) if cuda else None)
    report = benchmark_report(header, static, by_precision, baseline_of, args.batch, peak, args.repeat_check)
    print(report, end='')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(report)
        print(f'written to {args.out}')
