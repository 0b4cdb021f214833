"""Binary segmentation metrics of MSFF-SegNeXt, Eqs. 5-9 (spec 000 §6.1), plus Specificity
(spec 002 Eq. 4, TN / (TN + FP)).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Counts are pixel-level with the nucleus class as positive. The paper does not say
whether it averages per image or pools pixels over the dataset, so both are reported:
``dataset`` (pooled TP/FP/FN/TN) and ``per-image mean``. The spec infers the tables use
per-unit foreground means (§6.1 [INFERRED]).

Undefined ratios (0/0) score 1 only when prediction and ground truth are both empty,
else 0 (see ``_ratio``). Specificity, whose denominator counts negative pixels, mirrors
it: 0/0 is 1 only when prediction and ground truth both have no negative pixel. The rule
is applied once here, so the mmseg metric (``mmseg_plugins.evaluation``), its per-image
CSV and ``tools/cross_validate.py``'s per-sub-dataset scores all follow it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_NAMES = ('Dice', 'IoU', 'Accuracy', 'Precision', 'Recall', 'Specificity')


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


def _ratio(num: int, den: int, both_empty: bool) -> float:
    """``num / den``; a 0/0 scores 1 only if prediction and ground truth are both empty.

    Eqs. 5-9 are undefined at 0/0. Prediction and ground truth with no positive pixel
    agree perfectly, so every score is 1. Any other 0/0 is a miss: an empty prediction
    on an image with a nucleus has Precision 0/0 (and Recall 0); a nucleus predicted on
    an image without one has Recall 0/0. Both score 0, so an empty prediction can never
    raise a mean score.
    """
    if den:
        return num / den
    return 1.0 if both_empty else 0.0


def scores(c: ConfusionCounts) -> dict[str, float]:
    """Eqs. 5-9: Dice, IoU, Accuracy, Precision, Recall; spec 002 Eq. 4: Specificity (0/0: see ``_ratio``).

    Specificity = TN / (TN + FP) is 0/0 when the ground truth has no negative (background)
    pixel. By the same reasoning as ``_ratio``, it is 1 only if the prediction has none
    either (TN + FP + FN = 0: every valid pixel is nucleus on both sides), else 0.
    """
    both_empty = c.tp + c.fp + c.fn == 0  # no positive pixel predicted, none in the ground truth
    both_full = c.tn + c.fp + c.fn == 0  # no negative pixel predicted, none in the ground truth
    return {
        'Dice': _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, both_empty),
        'IoU': _ratio(c.tp, c.tp + c.fp + c.fn, both_empty),
        'Accuracy': _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn, both_empty),
        'Precision': _ratio(c.tp, c.tp + c.fp, both_empty),
        'Recall': _ratio(c.tp, c.tp + c.fn, both_empty),
        'Specificity': _ratio(c.tn, c.tn + c.fp, both_full),
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
