"""Image-level classification metrics of the explainable-CAD paper (spec 002 §6.1, Table 7).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Everything is computed from a K x K confusion matrix ``cm`` with rows = true class and
columns = predicted class (sklearn's convention). For class ``k`` taken as positive
(one-vs-rest): ``TP = cm[k, k]``, ``FP = column k - TP``, ``FN = row k - TP`` and
``TN = total - TP - FP - FN``; then Eqs. 2-5 give precision, recall, specificity and F1
(the paper's DSC, "also known as F1-Score"). Accuracy is the trace over the total (Eq. 1
applied to the multi-class matrix, i.e. the fraction of correct images).

Choices where the paper is silent (spec 002 §6.1):

* Averaging: Table 7 does not say. Both are reported: ``macro`` (unweighted mean over
  classes) and ``weighted`` (mean weighted by each class's support, the number of true
  images; sklearn ``average='weighted'``). Table 7 has Rec = Acc in every row, which holds
  for the support-weighted recall, so ``weighted`` is the one to compare with it.
* F1 averages are the mean of the per-class F1 (sklearn), not the F1 of the averaged
  precision and recall.
* 0/0: a class never predicted has precision 0/0 and a class with no true image has
  recall 0/0; both count as 0 (sklearn's ``zero_division=0``), so they can only lower a
  macro mean. A class with no true image has weight 0 in the weighted means.

Plain numpy, no OpenMMLab import: ``mmpretrain_plugins.evaluation.ClassificationReport``
is the thin MMPretrain adapter.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PER_CLASS_SCORES = ('precision', 'recall', 'specificity', 'f1')


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """``num_classes`` x ``num_classes`` int64 counts, rows = true label, columns = prediction."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f'{y_true.size} true labels but {y_pred.size} predictions')
    for what, labels in (('true label', y_true), ('prediction', y_pred)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(f'{what} {int(bad[0])} is outside 0..{num_classes - 1} (num_classes={num_classes})')
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def one_vs_rest_counts(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class ``tp``, ``fp``, ``fn``, ``tn`` (length-K int arrays) of a confusion matrix."""
    cm = _check_cm(cm)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    return dict(tp=tp, fp=fp, fn=fn, tn=tn)


def _check_cm(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f'a confusion matrix must be square K x K with K >= 1, got shape {cm.shape}')
    if not np.issubdtype(cm.dtype, np.integer):
        if not np.all(np.equal(np.mod(cm, 1), 0)):
            raise ValueError('a confusion matrix holds counts; got non-integer values')
        cm = cm.astype(np.int64)
    if (cm < 0).any():
        raise ValueError('a confusion matrix holds counts; got negative values')
    return cm


def classification_report(cm: np.ndarray) -> dict:
    """Scores of a confusion matrix (rows true, columns predicted).

    Returns ``{'accuracy': float, 'num_samples': int, 'support': int array (K,),
    'per_class': {score: float array (K,)}, 'macro': {score: float},
    'weighted': {score: float}}`` with ``score`` in :data:`PER_CLASS_SCORES`
    (0/0 -> 0, see the module docstring). An empty matrix (no sample) scores 0 everywhere.
    """
    cm = _check_cm(cm)
    c = one_vs_rest_counts(cm)
    tp, fp, fn, tn = c['tp'], c['fp'], c['fn'], c['tn']
    precision = _safe_div(tp, tp + fp)   # Eq. 2
    recall = _safe_div(tp, tp + fn)      # Eq. 3
    specificity = _safe_div(tn, tn + fp)  # Eq. 4
    f1 = _safe_div(2 * precision * recall, precision + recall)  # Eq. 5 (DSC = F1)
    per_class = dict(precision=precision, recall=recall, specificity=specificity, f1=f1)
    support = cm.sum(axis=1)
    total = int(cm.sum())
    weights = support / total if total else np.zeros(len(support))
    return dict(
        accuracy=float(np.trace(cm) / total) if total else 0.0,  # Eq. 1 over all classes
        num_samples=total,
        support=support,
        per_class=per_class,
        macro={k: float(v.mean()) for k, v in per_class.items()},
        weighted={k: float((v * weights).sum()) for k, v in per_class.items()},
    )


def mean_cross_entropy(probs: np.ndarray, labels: Sequence[int], eps: float = 1e-12) -> float:
    """Mean ``-log p(true class)`` of an N x K array of class probabilities (rows sum to 1).

    The validation loss that the classifier's ReduceLROnPlateau schedule monitors
    (configs/_base_/schedules/cls_adam_30e.py); probabilities are clipped at ``eps``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if probs.ndim != 2 or probs.shape[0] != labels.size:
        raise ValueError(f'probabilities must be N x K with N = {labels.size} labels, got shape {probs.shape}')
    if labels.size == 0:
        return 0.0
    p_true = probs[np.arange(labels.size), labels]
    return float(-np.log(np.clip(p_true, eps, 1.0)).mean())


def format_confusion_table(cm: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix as a plain-text table (rows true, columns predicted) for a log."""
    cm = _check_cm(cm)
    names = [str(n) for n in class_names]
    if len(names) != cm.shape[0]:
        raise ValueError(f'{len(names)} class names for a {cm.shape[0]}x{cm.shape[0]} confusion matrix')
    first = max(len('true \\ pred'), *(len(n) for n in names))
    width = max(max(len(n) for n in names), len(str(int(cm.max()) if cm.size else 0)), 4)
    lines = ['true \\ pred'.ljust(first) + ' ' + ' '.join(n.rjust(width) for n in names)]
    for name, row in zip(names, cm):
        lines.append(name.ljust(first) + ' ' + ' '.join(str(int(v)).rjust(width) for v in row))
    return '\n'.join(lines)


def format_report_table(report: dict, class_names: Sequence[str]) -> str:
    """Per-class precision / recall / specificity / F1 / support, then the macro and weighted rows."""
    names = [str(n) for n in class_names]
    first = max(len('weighted avg'), *(len(n) for n in names))
    head = ''.ljust(first) + ''.join(s.rjust(12) for s in (*PER_CLASS_SCORES, 'support'))
    rows = [head]
    for i, name in enumerate(names):
        rows.append(name.ljust(first) + ''.join(f'{report["per_class"][s][i]:12.4f}' for s in PER_CLASS_SCORES)
                    + f'{int(report["support"][i]):12d}')
    for avg in ('macro', 'weighted'):
        rows.append(f'{avg} avg'.ljust(first) + ''.join(f'{report[avg][s]:12.4f}' for s in PER_CLASS_SCORES)
                    + f'{report["num_samples"]:12d}')
    rows.append(f'accuracy {report["accuracy"]:.4f} over {report["num_samples"]} images')
    return '\n'.join(rows)
