"""The benchmark's report: the markdown tables (static metrics and timing ratios, achieved
TFLOP/s, repeat check), the notes under them, the machine description and the command line that
reproduces a run."""
from __future__ import annotations

import os
import platform
import shlex
from typing import Dict, List, Sequence

from .models import BASELINE, CAD_BASELINE, CLASSIFIER_SIZE, DET_MODELS
from .timing import REPEAT_TOLERANCE, analyse, repeat_check

def format_repeat_check(rows: List[dict], tolerance: float = REPEAT_TOLERANCE) -> str:
    """The repeat check's markdown table (rows of :func:`hemaseg.benchmarking.timing.repeat_check`) and
    the largest relative difference of each kind of ratio, said to be within ``tolerance`` or not."""
    lines = ['Repeat check (the whole timing measured twice in this process; relative difference = '
             '|run 2 - run 1| / run 1):',
             '| model | vs | quantity | x run 1 | x run 2 | difference | x paired run 1 | x paired run 2 '
             '| difference |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        what = 'infer img/s ratio' if r['phase'] == 'infer' else 'train step time ratio'
        lines.append(f"| {r['model']} | {r['baseline']} | {what} | {r['ratio'][0]:.3f} | {r['ratio'][1]:.3f} | "
                     f"{100 * r['ratio_diff']:.1f} % | {r['paired'][0]:.3f} | {r['paired'][1]:.3f} | "
                     f"{100 * r['paired_diff']:.1f} % |")
    if rows:
        verdicts = []
        for key, label in (('ratio_diff', 'ratios of medians (x)'), ('paired_diff', 'paired ratios (x paired)')):
            worst = max(r[key] for r in rows)
            verdicts.append(f"{label} {100 * worst:.1f} %, {'within' if worst <= tolerance else 'NOT within'} "
                            f'{100 * tolerance:.0f} %')
        lines.append('\nLargest relative difference: ' + '; '.join(verdicts) + '.')
    return '\n'.join(lines)


NOT_APPLICABLE = '-'


def _number(value, fmt: str, scale: float = 1.0) -> str:
    """``value / scale`` formatted, or ``-`` when the model has no such quantity (None)."""
    return NOT_APPLICABLE if value is None else format(value / scale, fmt)


def _ratio(value, base) -> str:
    """``value / base`` to 2 decimals, or ``-`` when either is missing or the baseline is 0."""
    return NOT_APPLICABLE if value is None or not base else f'{value / base:.2f}'


def _median_iqr(summary, fmt: str) -> str:
    """``median (IQR)`` of a summary, or ``-`` when the model has no such quantity (None)."""
    return NOT_APPLICABLE if summary is None else f"{summary['median']:{fmt}} ({summary['iqr']:{fmt}})"


def format_table(static: Dict[str, dict], analysis: dict, baseline_of: Dict[str, str], batch: int) -> str:
    """The markdown table: static metrics, timing medians (IQR) and ratios to the baselines.

    A quantity a model does not have (``static[name]['flops']`` None: GMACs not counted; no
    ``analysis['train'][name]``: no training step) and every ratio involving it show ``-``."""
    rows = ['| model | params (M) | x | GMACs | x | infer img/s | x | x paired (IQR) | infer s/iter: median (IQR) | '
            'train step (s): median (IQR) | x | x paired (IQR) | peak mem (MB) | x |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, r in static.items():
        base = static[baseline_of[name]]
        inf, tr = analysis['infer'][name], analysis.get('train', {}).get(name)
        tr_ratio = None if tr is None else tr['ratio']
        rows.append(f"| {name} | {r['params'] / 1e6:.3f} | {_ratio(r['params'], base['params'])} | "
                    f"{_number(r.get('flops'), '.2f', 1e9)} | {_ratio(r.get('flops'), base.get('flops'))} | "
                    f"{batch / inf['time']['median']:.2f} | {_number(inf['ratio'], '.2f')} | "
                    f"{_median_iqr(inf['paired'], '.2f')} | {_median_iqr(inf['time'], '.4f')} | "
                    f"{_median_iqr(None if tr is None else tr['time'], '.3f')} | {_number(tr_ratio, '.2f')} | "
                    f"{_median_iqr(None if tr is None else tr['paired'], '.2f')} | "
                    f"{_number(r.get('peak_mb'), '.0f')} | {_ratio(r.get('peak_mb'), base.get('peak_mb'))} |")
    return '\n'.join(rows)


# Dense bf16 Tensor Core peaks (TFLOP/s, without sparsity) from the vendors' data sheets, by device name.
BF16_PEAK_TFLOPS = {'H200': 989.0, 'H100 SXM': 989.0, 'H100 PCIe': 756.0, 'H100': 989.0, 'A100': 312.0,
                    'L40S': 362.0, 'A10': 125.0}


def bf16_peak_tflops(device_name: str) -> float | None:
    """The data-sheet bf16 peak of a GPU from its name (None if unknown; pass --peak-tflops)."""
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in device_name), None)


def format_tflops(static: Dict[str, dict], analysis: dict, batch: int, peak: float | None = None) -> str:
    """Achieved TFLOP/s per model: inference = 2 x MACs x img/s; training = 3 x that (a backward pass
    costs about twice the forward), from the median times. ``peak``: the share of that peak too."""
    head = '| model | infer TFLOP/s | train TFLOP/s (3 x forward) |'
    sep = '|---|---|---|'
    if peak:
        head, sep = head + f' infer % of {peak:g} | train % of {peak:g} |', sep + '---|---|'
    rows = [head, sep]
    for name, r in static.items():
        flops = r.get('flops')
        inf, tr = analysis['infer'][name], analysis.get('train', {}).get(name)
        infer = None if flops is None else 2 * flops * batch / inf['time']['median'] / 1e12
        train = None if flops is None or tr is None else 3 * 2 * flops * batch / tr['time']['median'] / 1e12
        cells = [_number(infer, '.3f'), _number(train, '.3f')]
        if peak:
            cells += [_number(None if v is None else 100 * v / peak, '.2f') for v in (infer, train)]
        rows.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def format_notes(static: Dict[str, dict]) -> str:
    """One line per model that carries a ``note`` (what its row measures, why a cell is ``-``); '' if none."""
    notes = [f'* {name}: {r["note"]}' for name, r in static.items() if r.get('note')]
    return '\n'.join(['Notes (- = the model has no such quantity):', *notes]) if notes else ''


def machine(device: str) -> str:
    """The device the run timed: the GPU's name, or the CPU model, core count and torch threads."""
    import torch
    if device.startswith('cuda'):
        return f'{torch.cuda.get_device_name()} (torch {torch.__version__})'
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)'


def command_line(argv: Sequence[str]) -> str:
    """The command that reproduces this run, quoted for a shell: model names such as
    "ALL-FABNET w/o FAB" contain spaces, and the command is printed to be pasted back."""
    return shlex.join(['python', 'tools/benchmark.py', *argv])


def report_header(args, static: Dict[str, dict], baseline_of: Dict[str, str], command: str) -> str:
    """The lines above the tables: input, device and machine, threads, how the timing and the static
    metrics were measured, and the baselines of the ratios. ``args``: the tool's parsed arguments."""
    cuda = args.device.startswith('cuda')
    if args.task == 'det':
        shape = f'{args.batch} image(s) per step at each config\'s size ({", ".join(f"{m} {DET_MODELS[m][1]}" for m in static)})'
        bases = ' and '.join(dict.fromkeys(baseline_of[m] for m in static))
    elif args.task == 'cad':
        shape = (f'{args.batch} synthetic smear image(s) per step, segmentation at {args.size}x{args.size}, '
                 f'classifier at {CLASSIFIER_SIZE}x{CLASSIFIER_SIZE}')
        bases = CAD_BASELINE
    else:
        shape, bases = f'{args.batch}x3x{args.size}x{args.size}', BASELINE
    omp = ', '.join(f'{k}={os.environ[k]}' for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY') if k in os.environ)
    static_how = ('in this process, one model at a time (peak: CUDA allocations above those before the model was '
                  'built; not measured on the CPU)' if args.static == 'inline' else 'one process per model')
    clock = 'CUDA events (no host synchronisation between calls)' if cuda else 'time.perf_counter'
    return (f'Input {shape}, device {args.device}: {machine(args.device)}; torch threads {args.threads}'
            f'{f" ({omp})" if omp else ""}.\n'
            f'Timing: {args.warmup} warm-up + {args.iters} timed inference iterations and {args.train_warmup} + '
            f'{args.train_iters} training steps per model, interleaved round-robin across the {len(static)} '
            f'models in one process, timed with {clock}; times are medians (IQR = q3 - q1) of the timed '
            f'iterations; x = ratio of the medians; x paired = median (IQR) over the timed rounds of the ratio '
            f'within a round (the models ran back to back, so load from other processes cancels; the more '
            f'reproducible one on a shared machine). Params, GMACs and peak memory: {static_how}.\n'
            f'Ratios (x) are to {bases} measured in the same run. Command: `{command}`\n')


def benchmark_report(header: str, static: Dict[str, dict], by_precision: Dict[str, List[dict]],
                     baseline_of: Dict[str, str], batch: int, peak: float | None, repeat: bool) -> str:
    """The whole markdown report: ``header``, then per precision the table, the achieved TFLOP/s and
    (``repeat``) the repeat check of its runs (``by_precision``: precision -> the raw timings of one
    or two measurements), then the notes."""
    report = header
    for precision, runs in by_precision.items():
        analyses = [analyse(run, baseline_of) for run in runs]
        title = {'fp32': 'fp32', 'bf16': 'bf16 autocast'}[precision]
        report += (f'\n#### {title}\n\n' if len(by_precision) > 1 else '\n')
        report += format_table(static, analyses[0], baseline_of, batch) + '\n'
        report += '\nAchieved compute (from the GMACs above and the median times):\n\n'
        report += format_tflops(static, analyses[0], batch, peak) + '\n'
        if repeat:
            report += '\n' + format_repeat_check(repeat_check(analyses, baseline_of)) + '\n'
    notes = format_notes(static)
    if notes:
        report += '\n' + notes + '\n'
    return report
