"""Binary segmentation metrics of MSFF-SegNeXt, Eqs. 5-9 (spec 000 §6.1).

Counts are pixel-level with the nucleus class as positive. The paper does not say
whether it averages per image or pools pixels over the dataset, so both are reported:
``dataset`` (pooled TP/FP/FN/TN) and ``per-image mean``. The spec infers the tables use
per-unit foreground means (§6.1 [INFERRED]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_NAMES = ('Dice', 'IoU', 'Accuracy', 'Precision', 'Recall')


@dataclass(frozen=True)
class ConfusionCounts:
    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: 'ConfusionCounts') -> 'ConfusionCounts':
        return ConfusionCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def confusion_counts(pred: np.ndarray, target: np.ndarray, positive: int = 1,
                     ignore_index: int | None = 255) -> ConfusionCounts:
    """Pixel confusion counts of ``positive`` vs the rest; ``ignore_index`` pixels are skipped."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f'prediction shape {pred.shape} differs from ground-truth shape {target.shape}')
    valid = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    p = (pred == positive) & valid
    t = (target == positive) & valid
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    tn = int(np.count_nonzero(valid)) - tp - fp - fn
    return ConfusionCounts(tp, fp, fn, tn)


def _ratio(num: int, den: int) -> float:
    # 0/0 arises when both masks agree that there is no nucleus (or no positives are
    # predicted and none exist): that agreement is perfect, so it scores 1.
    return 1.0 if den == 0 else num / den


def scores(c: ConfusionCounts) -> dict[str, float]:
    """Eqs. 5-9: Dice, IoU, Accuracy, Precision, Recall from confusion counts."""
    return {
        'Dice': _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
        'IoU': _ratio(c.tp, c.tp + c.fp + c.fn),
        'Accuracy': _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
        'Precision': _ratio(c.tp, c.tp + c.fp),
        'Recall': _ratio(c.tp, c.tp + c.fn),
    }


def summarize(per_image: list[ConfusionCounts]) -> dict[str, float]:
    """Dataset-level (pooled) scores plus the per-image mean of every score.

    Keys: ``Dice`` ... (pooled) and ``mDice`` ... (mean over images).
    """
    if not per_image:
        raise ValueError('no images were evaluated')
    pooled = per_image[0]
    for c in per_image[1:]:
        pooled = pooled + c
    out = scores(pooled)
    per = [scores(c) for c in per_image]
    for name in METRIC_NAMES:
        out['m' + name] = float(np.mean([s[name] for s in per]))
    return out
