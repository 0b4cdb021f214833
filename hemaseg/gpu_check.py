"""Time budget and report of ``tools/gpu_check.py`` (framework-free, unit-tested on the CPU).

``gpu_check`` trains every model of its plan for a few hundred iterations, evaluates it, and
writes one markdown report. The plan is a list of :class:`Part` (one framework + model each); each
part runs in its own process, so that a crash of one framework (the Detectron2 environment report
segfaulted on the H200 node) costs that row, not the check.

The budget (``--minutes``) is shared out as the parts run: a part gets ``remaining / parts left``
seconds, of which :data:`EVAL_SHARE` is kept for start-up and evaluation and the rest bounds its
training. A part that finishes early leaves its time to the later ones; a part that would get less
than :data:`MIN_PART_S` is skipped and the report says so. A part's process is killed at its share
plus :data:`GRACE_S`, so one hung framework cannot take the whole budget.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

EVAL_SHARE = 0.35  # of a part's time: process start, model build, data loading, evaluation
MIN_PART_S = 20.0
GRACE_S = 30.0


@dataclass
class Part:
    """One row of the check: a model of one framework, trained and evaluated in its own process."""
    framework: str  # 'mmseg', 'mmdet', 'mmpretrain' or 'detectron2'
    name: str  # e.g. 'MSFF-SegNeXt'
    config: str
    data: str = 'synthetic'  # what it trains on (shown in the report)


@dataclass
class PartResult:
    """What one part measured. ``status``: 'ok', 'failed' (``reason`` says why) or 'skipped'."""
    part: Part
    status: str
    reason: str = ''
    iterations: int = 0
    train_seconds: float = 0.0  # timed iterations only (after the warm-up ones)
    timed_iterations: int = 0
    batch_size: int = 0
    peak_memory_mb: Optional[float] = None
    losses: list = field(default_factory=list)  # the total loss of every iteration, in order
    metric_name: str = ''
    metric: Optional[float] = None
    wall_seconds: float = 0.0
    device: str = ''

    @property
    def iters_per_s(self) -> Optional[float]:
        return self.timed_iterations / self.train_seconds if self.train_seconds > 0 and self.timed_iterations else None

    @property
    def images_per_s(self) -> Optional[float]:
        ips = self.iters_per_s
        return None if ips is None or not self.batch_size else ips * self.batch_size


def loss_trend(losses: Sequence[float], window: int = 10) -> tuple[Optional[float], Optional[float], str]:
    """``(first, last, verdict)``: the mean loss of the first and last ``window`` iterations (fewer
    when the run was shorter) and whether it is 'finite, falling', 'finite, not falling' or 'not
    finite' (any NaN/inf anywhere in the run). Means over a window, because one iteration's loss
    is noisy; the windows never overlap."""
    if not losses:
        return None, None, 'no loss recorded'
    if not all(math.isfinite(x) for x in losses):
        bad = next(i for i, x in enumerate(losses) if not math.isfinite(x))
        return None, None, f'not finite (from iteration {bad})'
    w = max(1, min(window, len(losses) // 2))
    first, last = sum(losses[:w]) / w, sum(losses[-w:]) / w
    return first, last, 'finite, falling' if last < first else 'finite, not falling'


class Budget:
    """The shares of a time budget, handed out as parts start (see the module docstring)."""

    def __init__(self, total_s: float, num_parts: int, clock: Callable[[], float] = time.monotonic):
        if total_s <= 0 or num_parts < 1:
            raise ValueError(f'need a positive budget and at least one part, got {total_s} s and {num_parts}')
        self.total_s = total_s
        self.parts_left = num_parts
        self.clock = clock
        self.start = clock()

    @property
    def remaining_s(self) -> float:
        return self.total_s - (self.clock() - self.start)

    def skip(self) -> None:
        """A part that will not run (not installed ...): its share goes to the parts after it."""
        if self.parts_left < 1:
            raise RuntimeError('every part already had its share')
        self.parts_left -= 1

    def next_share(self) -> Optional[dict]:
        """The next part's ``{'share_s', 'train_s', 'kill_s'}``, or None when it would get less than
        :data:`MIN_PART_S` (skip it). Call once per part, in order."""
        if self.parts_left < 1:
            raise RuntimeError('every part already had its share')
        share = self.remaining_s / self.parts_left
        self.parts_left -= 1
        if share < MIN_PART_S:
            return None
        return dict(share_s=share, train_s=share * (1 - EVAL_SHARE), kill_s=share + GRACE_S)


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def format_report(results: Sequence[PartResult], header: Sequence[str], command: str) -> str:
    """The markdown report: the environment lines, one table row per part, then every part that did
    not run, with its reason."""
    lines = ['# GPU check', '', *[f'- {h}' for h in header], f'- command: `{command}`', '',
             '| framework | model | data | status | iterations | it/s | img/s | peak GPU memory (MB) | first loss | '
             'last loss | loss | evaluation | wall (s) |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        first, last, verdict = loss_trend(r.losses)
        evaluation = '-' if r.metric is None else f'{r.metric_name} {r.metric:.4f}'
        lines.append(f'| {r.part.framework} | {r.part.name} | {r.part.data} | {r.status} | {r.iterations} | '
                     f'{_fmt(r.iters_per_s, ".2f")} | {_fmt(r.images_per_s, ".1f")} | {_fmt(r.peak_memory_mb, ".0f")} | '
                     f'{_fmt(first, ".4f")} | {_fmt(last, ".4f")} | {verdict if r.losses else "-"} | {evaluation} | '
                     f'{r.wall_seconds:.0f} |')
    not_ok = [r for r in results if r.status != 'ok']
    if not_ok:
        lines += ['', 'Not run or not finished:', '']
        lines += [f'- {r.part.framework} {r.part.name}: {r.status}: {r.reason}' for r in not_ok]
    lines += ['', 'it/s and img/s exclude the first iterations (warm-up: cuDNN autotuning, lazy initialisation); '
              'first / last loss are means over the first and last 10 iterations (fewer in short runs).']
    return '\n'.join(lines) + '\n'
