"""Parameters, FLOPs, inference throughput, training step time and peak memory, printed as
ratios to a baseline measured in the same run.

    python tools/benchmark.py [--size 512] [--batch 2] [--iters 60] [--threads 2] [--device cpu|cuda] \
        [--out docs/benchmarks.md]
    python tools/benchmark.py --task det [--batch 1] [--iters 60] [--device cpu|cuda] [--out FILE]
    python tools/benchmark.py --task cad [--size 256] [--batch 2] [--threads 1] [--out FILE]
    python tools/benchmark.py --size 64 --models MSFF-SegNeXt --repeat-check    # is the ratio reproducible?

``--task seg`` (default): the segmentation models, ratios to SegNeXt-T, FLOPs = multiply-
accumulates counted by ``mmengine.analysis`` (the paper's "Mult-Adds", spec 000 Table 1).
Inference is ``encode_decode`` (logits at the input size). The training loss follows the
model's output: cross-entropy on C >= 2 logit channels, BCE-with-logits on one channel (the
sigmoid models, e.g. ALL-FABNET in mmseg's binary mode).
``--task det``: the instance-segmentation models through mmdet at their configs' input sizes
(YOLACT 550x550, Mask R-CNN 512x512), ratios to YOLACT-R50 and to Mask R-CNN; inference is the
whole ``predict`` (post-processing and mask pasting included); GMACs are those of the
image-level network (backbone, neck, dense heads and protonet; the RoI heads of the two-stage
models, whose cost depends on the number of proposals, are not counted), from
``torch.utils.flop_counter``.
``--task cad``: the explainable-CAD pipeline of spec 002, ratios to the MONAI U-Net: the
handcrafted nucleus mask (Algorithm 1, ``hemaseg.handcrafted``: no parameters, no training step,
its OpenCV/SciPy operations are not counted as GMACs), the U-Net's ``predict`` (mask at the
input size), the ensemble (``EnsembleNucleusSegmentor.predict`` itself: U-Net ``predict``,
handcrafted mask, AND + area opening per image; inference only; its parameters and GMACs are its
U-Net's) and the ResNet-50 Medium-Mish classifier (at 224x224 whatever ``--size``, as spec 002
§4.3 feeds it; ``tensor`` mode, cross-entropy for training). A model without a training step or
without counted GMACs shows ``-`` in those columns, with a note under the table.

Inputs. The segmentation and CAD models see the same synthetic smear images (a pale background,
one cell with a purple nucleus, noise; :func:`synthetic_smear`) as uint8 RGB, normalised with
the mean / std of each model's own data preprocessor (MONAI U-Net: [0, 1]; the others:
ImageNet statistics), so every model, and the handcrafted algorithm, gets what it would get
from a real image. ``--size`` must be a multiple of each model's ``size_divisor`` (the padding
its data preprocessor applies; MONAI U-Net 8, ALL-FABNET and SegNeXt 32): the tool stops naming
the model otherwise.

Timing. Every compared model is built in this one process and the iterations are *interleaved*:
round r calls model A once, then model B once, ... (round-robin), first ``--warmup`` untimed
rounds, then ``--iters`` timed ones; training steps likewise (``--train-warmup``,
``--train-iters``). Whatever else the machine does (other jobs, frequency changes, thermal
state) then hits every model alike instead of whichever happened to run at that moment. Each
model's time is the *median* of its timed iterations (reported with its IQR, q3 - q1), so single
slow iterations do not move it, and ``x`` is the ratio of the medians. ``x paired`` is the median
(IQR) over the timed rounds of the ratio *within* a round: a model and its baseline ran back to
back there, so a slow period of a shared machine slows both and cancels; on a busy machine it is
the more reproducible of the two (on a quiet one they agree). Before each measurement every model
gets back its initial weights and a fresh optimizer, and the RNG is reseeded, so
``--repeat-check`` (the whole measurement twice, both runs' ratios and their relative difference
printed) compares like with like.

Parameters, GMACs and peak memory come from one subprocess per model, so that peak memory
(process RSS on CPU, ``torch.cuda.max_memory_allocated`` on CUDA) belongs to that model alone.
Torch uses ``--threads`` intra-op threads (default 2) in every process; the report says so. On a CPU
that other jobs keep busy, more threads than idle cores make OpenMP's threads spin-wait on each other:
timings get several times slower and far noisier (SegNeXt-T at 64x64 on the 2-core development
machine at load ~5: 0.09 s/iteration with 1 thread, 0.55 s with 2; 0.13 s with 2 threads and
``OMP_WAIT_POLICY=PASSIVE``). Measure there with ``--threads 1``, or on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))  # configs are named from the repository root

MODELS = {
    'SegNeXt-T': 'configs/segnext/segnext_mscan-t_wbc-256x256.py',
    'MSFF-SegNeXt': 'configs/msff_segnext/msff-segnext_mscan-t_wbc-256x256.py',
    'U-Net': 'configs/unet/unet_wbc-256x256.py',
    'R2U-Net': 'configs/r2unet/r2unet_wbc-256x256.py',
    'DeepLabV3': 'configs/deeplabv3/deeplabv3_r50_wbc-256x256.py',
    'MONAI U-Net': 'configs/explainable_cad/unet-monai_ufl_wbc-jtsc-256x256.py',
    'ALL-FABNET': 'configs/all_fabnet/all-fabnet_densenet169_all-idb2-wholecell-256x256.py',
    'ALL-FABNET w/o FAB': 'configs/all_fabnet/all-fabnet-no-fab_densenet169_all-idb2-wholecell-256x256.py',
}
BASELINE = 'SegNeXt-T'
# name: (config, input size, baseline of its group)
DET_MODELS = {
    'YOLACT-R50': ('configs/yolact_cis/yolact_r50_fpn_wbc-550x550.py', 550, 'YOLACT-R50'),
    'YOLACT-CIS': ('configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_wbc-550x550.py', 550, 'YOLACT-R50'),
    'Mask R-CNN': ('configs/r_mask_rcnn/mask-rcnn_r50_fpn_wbc-512.py', 512, 'Mask R-CNN'),
    'R-Mask R-CNN': ('configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_wbc-512.py', 512, 'Mask R-CNN'),
}
# The explainable-CAD pipeline of spec 002, name: (config, kind). The kind says how it runs:
# 'handcrafted' (Algorithm 1 with the config's Table A1 parameters, no network), 'segmentor' (an
# mmseg model: predict + training step), 'ensemble' (inference only) and 'classifier' (MMPretrain).
CAD_MODELS = {
    'Handcrafted': ('configs/explainable_cad/handcrafted_wbc-jtsc.py', 'handcrafted'),
    'MONAI U-Net': ('configs/explainable_cad/unet-monai_ufl_wbc-jtsc-256x256.py', 'segmentor'),
    'Ensemble': ('configs/explainable_cad/ensemble_unet-monai_wbc-jtsc.py', 'ensemble'),
    'ResNet-50 Medium-Mish': ('configs/explainable_cad/resnet50_medium-mish_seg_b-all-aria.py', 'classifier'),
}
CAD_BASELINE = 'MONAI U-Net'
CLASSIFIER_SIZE = 224  # spec 002 §4.3: the classifier's input, whatever the segmentation size
# Defaults of the timing (see the module docstring), chosen from repeated measurements of SegNeXt-T vs
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


# ----------------------------------------------------------------------------------------------
# Timing: interleaved schedule, medians, ratios (plain Python; unit-tested with a fake clock)
# ----------------------------------------------------------------------------------------------
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


def format_repeat_check(rows: List[dict], tolerance: float = REPEAT_TOLERANCE) -> str:
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


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------
class Bench:
    """One model ready to time: ``infer()`` (call in eval mode under ``no_grad``) and ``step()``
    (train mode: forward, loss, backward, optimizer step). ``reset()`` restores the weights the
    model was built with and makes a fresh optimizer.

    ``model`` None: nothing learnable (the handcrafted algorithm). ``loss`` None: no training step
    (inference-only models); then ``step`` is None and the training columns of the table show
    ``-``. ``note`` is printed under the table (what the row measures, why a cell is ``-``).
    """

    def __init__(self, model, infer: Callable, loss: Callable | None = None,
                 make_optimizer: Callable | None = None, note: str = ''):
        if loss is not None and (model is None or make_optimizer is None):
            raise ValueError('a Bench with a training loss needs the model and make_optimizer')
        self.model = model
        self.infer = infer
        self.note = note
        self._loss = loss
        self._make_optimizer = make_optimizer
        self._initial = copy.deepcopy(model.state_dict()) if model is not None else None
        self.optimizer = make_optimizer(model.parameters()) if loss is not None else None
        self.step: Callable[[], None] | None = self._step if loss is not None else None

    @property
    def num_params(self) -> int:
        return 0 if self.model is None else sum(p.numel() for p in self.model.parameters())

    def set_training(self, training: bool) -> None:
        if self.model is not None:
            self.model.train(training)

    def reset(self) -> None:
        if self.model is not None:
            self.model.load_state_dict(self._initial)
        if self.step is not None:
            self.optimizer = self._make_optimizer(self.model.parameters())

    def _step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self._loss().backward()
        self.optimizer.step()


def synthetic_smear(batch: int, size: int, seed: int = 0):
    """``(batch, size, size, 3)`` uint8 RGB stand-ins for stained blood-smear crops: a pale background,
    one pink cell with a darker purple nucleus (ellipses at slightly random centres) and Gaussian
    noise, so the handcrafted algorithm does its usual work (Otsu finds the nucleus, area opening
    removes noise blobs) and the networks see image-like statistics."""
    import numpy as np
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    images = np.empty((batch, size, size, 3), np.uint8)
    for i in range(batch):
        cy, cx = 0.5 + rng.uniform(-0.08, 0.08, 2)
        img = np.empty((size, size, 3), np.float64)
        img[:] = (235, 215, 222)
        img[((yy - cy) / 0.36) ** 2 + ((xx - cx) / 0.32) ** 2 <= 1] = (214, 160, 188)
        img[((yy - cy) / 0.22) ** 2 + ((xx - cx) / 0.17) ** 2 <= 1] = (112, 52, 150)
        images[i] = np.clip(np.rint(img + rng.normal(0, 8, img.shape)), 0, 255).astype(np.uint8)
    return images


def network_input(images, preprocessor, device: str):
    """uint8 RGB ``(N, H, W, 3)`` -> float ``(N, 3, H, W)`` as the model's data preprocessor outputs it
    after its BGR->RGB conversion: ``(x - mean) / std`` with its mean / std (RGB order), when it
    normalises at all."""
    import torch
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().to(device)
    if getattr(preprocessor, '_enable_normalize', False):
        x = (x - preprocessor.mean.to(device)) / preprocessor.std.to(device)
    return x.contiguous()


def seg_loss(logits, target):
    """The benchmark's training loss of a segmentation output, chosen by its channel count: one
    channel = sigmoid logits (mmseg's binary mode, e.g. ALL-FABNET): BCE-with-logits against the
    0/1 target; C >= 2 channels: cross-entropy. (Not each model's own ``loss_decode``: the table
    compares the networks' cost, with one simple loss for all.)"""
    import torch.nn.functional as F
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], target.to(logits.dtype))
    return F.cross_entropy(logits, target)


def model_macs(model, x) -> Callable[[], float]:
    """A function counting the MACs of ``model(x[:1])`` (one image; for an mmseg segmentor or an
    MMPretrain classifier that is its ``tensor`` mode: backbone + head) with ``mmengine.analysis``."""
    def macs() -> float:
        import torch
        from mmengine.analysis import get_model_complexity_info
        model.eval()
        with torch.no_grad():
            return get_model_complexity_info(model, inputs=(x[:1],), show_table=False, show_arch=False)['flops']
    return macs


def _adamw(params):
    import torch
    return torch.optim.AdamW(params, lr=1e-4)


def seg_bench(model, x, target, infer: Callable | None = None, note: str = '') -> Bench:
    """A segmentor's Bench: ``infer`` (default: ``encode_decode``, logits at the input size) and a
    training step of ``encode_decode`` + :func:`seg_loss` + AdamW. ``model`` needs only
    ``encode_decode(inputs, metas)`` (tests use a tiny fake one)."""
    size = tuple(x.shape[2:])
    metas = [dict(img_shape=size, ori_shape=size)] * x.shape[0]

    def forward():
        return model.encode_decode(x, metas)

    return Bench(model, infer or forward, lambda: seg_loss(forward(), target), _adamw, note=note)


def _check_size_divisor(name: str, config: str, model, size: int) -> None:
    divisor = getattr(getattr(model, 'data_preprocessor', None), 'size_divisor', None)
    if divisor and size % divisor:
        raise ValueError(f'{name} ({config}): --size {size} is not a multiple of {divisor}, the size_divisor its '
                         f'data preprocessor pads every input to; use e.g. --size {size // divisor * divisor or divisor}')


def _build_mmseg(name: str, config: str, size: int, device: str, cfg=None):
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS as REG
    from mmseg.utils import register_all_modules

    import mmseg_plugins  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    cfg = cfg or Config.fromfile(osp.join(REPO_ROOT, config))
    model = REG.build(cfg.model).to(device)
    _check_size_divisor(name, config, model, size)
    return model


def build_seg(name: str, size: int, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """A segmentation model (``encode_decode`` on the synthetic images) and a function counting its MACs."""
    import torch
    model = _build_mmseg(name, MODELS[name], size, device)
    x = network_input(synthetic_smear(batch, size), model.data_preprocessor, device)
    target = torch.randint(0, 2, (batch, size, size), device=device)
    one_channel = getattr(getattr(model, 'decode_head', None), 'out_channels', None) == 1
    note = 'one sigmoid output channel (mmseg binary mode): trained with BCE-with-logits' if one_channel else ''
    return seg_bench(model, x, target, note=note), model_macs(model, x)


def build_cad(name: str, size: int, batch: int, device: str) -> Tuple[Bench, Callable[[], float] | None]:
    """A model of the explainable-CAD pipeline (:data:`CAD_MODELS`) and its MAC counter (None: not counted)."""
    import torch
    from mmengine.config import Config
    config, kind = CAD_MODELS[name]
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    if kind == 'handcrafted':
        from hemaseg.handcrafted import HandcraftedParams, segment_nucleus_handcrafted
        params = HandcraftedParams(**cfg.model.get('handcrafted', {}))  # Table A1, as the config sets it
        images = synthetic_smear(batch, size)
        return Bench(None, lambda: [segment_nucleus_handcrafted(img, params) for img in images],
                     note='Algorithm 1 (hemaseg.handcrafted.segment_nucleus_handcrafted, Table A1 parameters of '
                          f'{osp.basename(config)}) on each uint8 RGB image: no parameters, no training step; its '
                          'OpenCV/SciPy operations are not counted as GMACs'), None
    if kind in ('segmentor', 'ensemble'):
        model = _build_mmseg(name, config, size, device, cfg)
        x = network_input(synthetic_smear(batch, size), model.data_preprocessor, device)
        if kind == 'ensemble':
            bench = Bench(model, lambda: model.predict(x),
                          note='EnsembleNucleusSegmentor.predict on the in-memory batch (per image: the U-Net\'s '
                               'predict, the handcrafted mask of the input de-normalised back to uint8 RGB (no '
                               'img_path, so no file is re-read; with the U-Net\'s [0, 1] scaling that is the '
                               'image itself), AND + area opening, Eq. 12): inference only, no training step; '
                               'params and GMACs are its U-Net\'s (the handcrafted part is not counted)')
        else:
            target = torch.randint(0, 2, (batch, size, size), device=device)
            bench = seg_bench(model, x, target, infer=lambda: model.predict(x),
                              note='inference = predict (logits, argmax: the mask); training = encode_decode + '
                                   'cross-entropy + AdamW')
        return bench, model_macs(model, x)
    if kind == 'classifier':
        import torch.nn.functional as F
        from mmengine.registry import DefaultScope

        import mmpretrain_plugins  # noqa: F401  (ActivationResNet, Mish)
        from mmpretrain.registry import MODELS as CLS
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):  # its sub-modules are built from this scope
            model = CLS.build(cfg.model).to(device)
        x = network_input(synthetic_smear(batch, CLASSIFIER_SIZE), model.data_preprocessor, device)
        labels = torch.randint(0, model.head.num_classes, (batch,), device=device)

        def forward():
            return model(x, mode='tensor')

        bench = Bench(model, forward, lambda: F.cross_entropy(forward(), labels), _adamw,
                      note=f'classifier at {CLASSIFIER_SIZE}x{CLASSIFIER_SIZE} whatever --size (spec 002 §4.3); '
                           'tensor mode (logits); training = cross-entropy + AdamW')
        return bench, model_macs(model, x)
    raise ValueError(f'CAD_MODELS[{name!r}]: unknown kind {kind!r}')


def _det_batch(size: int, batch: int, device: str):
    """A batch of random images with one elliptical cell each, as mmdet's data preprocessor outputs it."""
    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    samples = []
    yy, xx = np.mgrid[:size, :size]
    for _ in range(batch):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        mask = (((yy - size / 2) / (size / 4)) ** 2 + ((xx - size / 2) / (size / 5)) ** 2 <= 1).astype(np.uint8)
        gt = InstanceData()
        gt.bboxes = torch.tensor([[size / 2 - size / 5, size / 4, size / 2 + size / 5, 3 * size / 4]], device=device)
        gt.labels = torch.tensor([0], device=device)
        gt.masks = BitmapMasks(mask[None], size, size)
        s.gt_instances = gt
        samples.append(s)
    return torch.randn(batch, 3, size, size, device=device), samples


def build_det(name: str, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """An mmdet model (whole ``predict`` / ``loss``) and a function counting its image-level MACs."""
    import torch
    from mmdet.registry import MODELS as REG
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_plugins  # noqa: F401
    register_all_modules()
    config, size, _ = DET_MODELS[name]
    torch.manual_seed(0)
    model = REG.build(Config.fromfile(osp.join(REPO_ROOT, config)).model).to(device)
    x, samples = _det_batch(size, batch, device)

    def image_level(inp):
        if hasattr(model, 'extract_head_and_proto_feats'):  # YOLACTCIS
            head_feats, proto_feats = model.extract_head_and_proto_feats(inp)
        else:
            head_feats = proto_feats = model.extract_feat(inp)
        if hasattr(model, 'rpn_head'):
            return model.rpn_head(head_feats)
        return model.bbox_head(head_feats), model.mask_head.protonet(proto_feats[0])

    def macs() -> float:
        from torch.utils.flop_counter import FlopCounterMode
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            image_level(x[:1])
        return counter.get_total_flops() / 2

    def loss():
        return model.parse_losses(model.loss(x, samples))[0]

    bench = Bench(model, lambda: model.predict(x, samples), loss,
                  lambda params: torch.optim.SGD(params, lr=1e-4, momentum=0.9))
    return bench, macs


def build(task: str, name: str, size: int, batch: int, device: str) -> Tuple[Bench, Callable[[], float] | None]:
    """``(Bench, MAC counter or None)`` of one model of ``task``."""
    if task == 'det':
        return build_det(name, batch, device)
    if task == 'cad':
        return build_cad(name, size, batch, device)
    return build_seg(name, size, batch, device)


def static_metrics(task: str, name: str, size: int, batch: int, device: str) -> dict:
    """Runs inside the per-model child process: parameters, MACs (None where not counted), peak
    memory and the model's note. Peak memory is taken after one inference and two training steps
    (process RSS on CPU, CUDA allocations of the second step); for a model without a training
    step, after two inferences (CUDA: of the second)."""
    import resource

    import torch
    bench, macs = build(task, name, size, batch, device)
    flops = macs() if macs is not None else None

    def infer():
        with torch.no_grad():
            bench.infer()

    bench.set_training(False)
    infer()
    measured = bench.step if bench.step is not None else infer
    if bench.step is not None:
        bench.set_training(True)
        bench.step()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    measured()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(params=bench.num_params, flops=flops, peak_mb=peak_mb, note=bench.note)


def static_metrics_inline(task: str, name: str, size: int, batch: int, device: str) -> dict:
    """:func:`static_metrics` in this process, one model at a time (seconds per model: no process
    start, no import, no CUDA initialisation per model). Peak memory on CUDA is the allocator's peak
    above what was allocated before the model was built (its weights, gradients, optimizer state
    and the activations of a training step); on the CPU a process's RSS cannot be split among
    models, so it is left out (``--static process`` measures it)."""
    import gc

    import torch
    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
    out = static_metrics(task, name, size, batch, device)  # peak of its second training step (or inference)
    if cuda:
        out['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
        gc.collect()
        torch.cuda.empty_cache()
    else:
        out['peak_mb'] = None
    return out


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
    timed rounds' durations in round order. On CUDA the calls are timed with CUDA events."""
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


def machine(device: str) -> str:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=2,
                    help='images per step (>= 2: the BatchNorm after DeepLabV3 image pooling cannot train on 1; the paper used 2)')
    ap.add_argument('--warmup', type=int, default=DEFAULT_WARMUP, help='untimed inference rounds (default %(default)s)')
    ap.add_argument('--iters', type=int, default=DEFAULT_ITERS,
                    help='timed inference rounds; each round runs every model once (default %(default)s)')
    ap.add_argument('--train-warmup', type=int, default=DEFAULT_TRAIN_WARMUP,
                    help='untimed training rounds (default %(default)s)')
    ap.add_argument('--train-iters', type=int,
                    help=f'timed training rounds (default: {DEFAULT_TRAIN_ITERS}, or --iters when that is smaller)')
    ap.add_argument('--threads', type=int, default=2,
                    help='torch intra-op threads in every process (default %(default)s)')
    ap.add_argument('--repeat-check', action='store_true',
                    help='measure the timings twice and print both runs\' ratios and their relative difference')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--task', choices=['seg', 'det', 'cad'], default='seg',
                    help='seg: segmentation models (--size applies); det: instance segmentation at the configs\' '
                         'sizes; cad: the explainable-CAD pipeline of spec 002 (segmentation at --size, classifier '
                         f'at {CLASSIFIER_SIZE})')
    ap.add_argument('--models', nargs='+', choices=list(dict.fromkeys([*MODELS, *DET_MODELS, *CAD_MODELS])),
                    help='default: every model of the task')
    ap.add_argument('--precision', nargs='+', choices=['fp32', 'bf16'],
                    help='time each model in these precisions (bf16: autocast); default fp32, and bf16 too on a GPU '
                         'that has it')
    ap.add_argument('--static', choices=['inline', 'process'],
                    help='parameters, GMACs and peak memory: in this process one model at a time (seconds per model; '
                         'the default on CUDA) or one process per model (the CPU default: RSS per model)')
    ap.add_argument('--peak-tflops', type=float,
                    help='the device\'s dense bf16 peak, for the "%% of peak" columns (default: from the GPU name, '
                         f'known: {", ".join(BF16_PEAK_TFLOPS)})')
    ap.add_argument('--out', help='write a markdown report here (e.g. docs/benchmarks.md)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train_iters is None:
        args.train_iters = min(DEFAULT_TRAIN_ITERS, args.iters)
    if args.warmup < 0 or args.train_warmup < 0 or args.iters < 1 or args.train_iters < 1 or args.threads < 1:
        ap.error('--warmup/--train-warmup must be >= 0, --iters/--train-iters/--threads >= 1')

    import torch
    torch.set_num_threads(args.threads)
    if args.child:
        print('RESULT ' + json.dumps(static_metrics(args.task, args.child, args.size, args.batch, args.device)))
        return

    table_of = {'seg': MODELS, 'det': DET_MODELS, 'cad': CAD_MODELS}[args.task]
    args.models = args.models or list(table_of)
    wrong = [m for m in args.models if m not in table_of]
    if wrong:
        ap.error(f'--models {wrong} are not {args.task} models; choose from {list(table_of)}')
    baseline_of = {'seg': {m: BASELINE for m in MODELS}, 'det': {m: DET_MODELS[m][2] for m in DET_MODELS},
                   'cad': {m: CAD_BASELINE for m in CAD_MODELS}}[args.task]
    for base in dict.fromkeys(baseline_of[m] for m in list(args.models)):
        if base not in args.models:
            args.models.insert(0, base)
    args.models = [m for m in table_of if m in args.models]
    print(f'torch threads: {torch.get_num_threads()} (--threads {args.threads})', flush=True)

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
            static[name] = static_metrics_inline(args.task, name, args.size, args.batch, args.device)
        else:
            print(f'[{i}/{len(args.models)}] {name}: parameters, GMACs, peak memory (own process) ...', flush=True)
            cmd = [sys.executable, __file__, '--child', name, '--task', args.task, '--size', str(args.size),
                   '--batch', str(args.batch), '--device', args.device, '--threads', str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
            line = next((l for l in proc.stdout.splitlines() if l.startswith('RESULT ')), None)
            if proc.returncode or line is None:
                sys.exit(f'error: benchmarking {name} failed:\n{proc.stderr[-3000:]}')
            static[name] = json.loads(line[7:])
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
    runs = by_precision[args.precision[0]]
    command = command_line(sys.argv[1:])
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
    header = (f'Input {shape}, device {args.device}: {machine(args.device)}; torch threads {args.threads}'
              f'{f" ({omp})" if omp else ""}.\n'
              f'Timing: {args.warmup} warm-up + {args.iters} timed inference iterations and {args.train_warmup} + '
              f'{args.train_iters} training steps per model, interleaved round-robin across the {len(static)} '
              f'models in one process, timed with {clock}; times are medians (IQR = q3 - q1) of the timed '
              f'iterations; x = ratio of the medians; x paired = median (IQR) over the timed rounds of the ratio '
              f'within a round (the models ran back to back, so load from other processes cancels; the more '
              f'reproducible one on a shared machine). Params, GMACs and peak memory: {static_how}.\n'
              f'Ratios (x) are to {bases} measured in the same run. Command: `{command}`\n')
    peak = args.peak_tflops or (bf16_peak_tflops(torch.cuda.get_device_name()) if cuda else None)
    report = header
    for precision, runs in by_precision.items():
        analyses = [analyse(run, baseline_of) for run in runs]
        title = {'fp32': 'fp32', 'bf16': 'bf16 autocast'}[precision]
        report += (f'\n#### {title}\n\n' if len(by_precision) > 1 else '\n')
        report += format_table(static, analyses[0], baseline_of, args.batch) + '\n'
        report += '\nAchieved compute (from the GMACs above and the median times):\n\n'
        report += format_tflops(static, analyses[0], args.batch, peak) + '\n'
        if args.repeat_check:
            report += '\n' + format_repeat_check(repeat_check(analyses, baseline_of)) + '\n'
    notes = format_notes(static)
    if notes:
        report += '\n' + notes + '\n'
    print(report, end='')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(report)
        print(f'written to {args.out}')


if __name__ == '__main__':
    main()
