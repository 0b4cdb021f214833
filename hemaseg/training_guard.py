"""Stop a training run that has collapsed, with a message that says what happened and what to try.

Two failures of from-scratch instance segmentation seen here (docs/results.md, "R-Mask R-CNN: why it
collapsed"): the loss turns non-finite, or the RoI box head ends up classifying every foreground
proposal as background, after which the loss looks calm (background is easy) while the model
detects nothing, and a 12,000-iteration schedule would run on for hours. :class:`CollapseGuard`
watches the per-iteration values the frameworks already log and raises :class:`TrainingCollapsed`:

* at the first non-finite loss;
* when the share of foreground RoIs the box head classifies as foreground (``fg_recall``;
  Detectron2 logs ``1 - fast_rcnn/false_negative``) has been 0 for ``patience`` consecutive
  recorded iterations **after** it once reached ``armed_at`` at an iteration >= ``arm_after``
  (the warm-up). Early in training the head predicts background for everything for a while (and
  a freshly initialised one may call everything foreground for a few iterations); only a head
  that had learned foreground after the warm-up and lost it counts as collapsed, so a slow start
  never trips the guard.
"""
from __future__ import annotations

import math
from typing import Optional

ADVICE = ('lower the learning rate (SOLVER.BASE_LR / optim_wrapper.optimizer.lr), lengthen the warm-up, or use '
          'GroupNorm in the neck and heads (the configs of this project do); docs/results.md explains the R-Mask '
          'R-CNN case')


class TrainingCollapsed(RuntimeError):
    """Training stopped by :class:`CollapseGuard`; the message says why, when and what to try."""


class CollapseGuard:
    """See the module docstring. ``patience``: recorded iterations of ``fg_recall == 0`` that count as
    a collapse; ``armed_at``: the ``fg_recall`` that shows the head had learned foreground, counted
    from iteration ``arm_after`` on."""

    def __init__(self, patience: int = 100, armed_at: float = 0.5, arm_after: int = 100):
        if patience < 1:
            raise ValueError(f'patience must be >= 1, got {patience}')
        self.patience = patience
        self.armed_at = armed_at
        self.arm_after = arm_after
        self.armed_iteration: Optional[int] = None
        self.zero_since: Optional[int] = None
        self.zero_count = 0

    def update(self, iteration: int, losses: dict, fg_recall: Optional[float] = None) -> None:
        """Record one iteration: ``losses`` {name: float}, ``fg_recall`` in [0, 1] or None (not logged)."""
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise TrainingCollapsed(f'iteration {iteration}: the loss is not finite ({", ".join(f"{k}={v}" for k, v in bad.items())}); '
                                    f'training stopped. Try: {ADVICE}.')
        if fg_recall is None:
            return
        if self.armed_iteration is None:
            if fg_recall >= self.armed_at and iteration >= self.arm_after:
                self.armed_iteration = iteration
            return
        if fg_recall > 0:
            self.zero_since, self.zero_count = None, 0
            return
        self.zero_since = iteration if self.zero_since is None else self.zero_since
        self.zero_count += 1
        if self.zero_count >= self.patience:
            raise TrainingCollapsed(
                f'iteration {iteration}: the RoI box head has classified every foreground proposal as background for '
                f'{self.zero_count} recorded iterations (since iteration {self.zero_since}; it had reached '
                f'foreground recall >= {self.armed_at} at iteration {self.armed_iteration}): the detector has '
                f'collapsed and would detect nothing. Training stopped. Try: {ADVICE}.')
