"""Unified Focal Loss of the explainable-CAD U-Net, Eqs. 9-11 (spec 002 §3.1).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

The paper prints (Yeung et al. 2022, its ref. [32])::

    L_mF  = delta * (1 - p)^(1 - gamma) * L_BCE                   (9)
    L_mFT = sum_{c=1..C} (1 - mTI)^gamma                           (10)
    L_UF  = lambda * L_mF + (1 - lambda) * L_mFT                   (11)

and defines neither ``p`` nor ``mTI``. From Yeung et al. (spec 002 §3.1 [EXTERNAL]): ``p`` is
the predicted probability of a pixel's true class, and for a class taken as foreground
``mTI = sum p0 g0 / (sum p0 g0 + delta * sum p0 g1 + (1 - delta) * sum p1 g0)`` with p0/g0
the foreground probability/label of a pixel and p1/g1 the background ones, i.e.
``TP / (TP + delta * FP + (1 - delta) * FN)``.

How the printed formulas are read here (each one a choice the paper leaves open):

* **Weight placement**: Eq. 11 as printed, lambda on the focal (distribution) term. The
  authors of the loss put it on the Tversky term in their code (``weight * FTL +
  (1 - weight) * FL``); spec 002 says to follow Eq. 11.
* **Classes**: softmax probabilities ``(N, C, H, W)``; class 0 is the background, every
  other class a foreground. In the project's binary nucleus task C = 2 and class 1 is the
  nucleus (the label maps and ``NucleusMetric`` use indices 0/1).
* **Symmetric form** (the printed "modified" losses; the asymmetric variant is not named):
  - Eq. 9: ``L_BCE = -log p`` of the true class, and delta balances the two classes as
    Yeung's symmetric focal loss does: a foreground pixel is weighted ``delta``, a
    background pixel ``1 - delta`` (the paper: "delta controls the relative weighting of
    positive and negative classes"; a single factor delta on every pixel would only
    rescale lambda). The term is the mean over pixels.
  - Eq. 10: one mTI per class, each class in turn taken as the foreground (``p0, g0`` its
    probability and one-hot label, ``p1 = 1 - p0``, ``g1 = 1 - g0``), same delta for every
    class, summed over the C classes as printed (not averaged).
* **Sums over pixels**: Eq. 10's sums run over every pixel of the batch (one mTI per class
  for the whole batch, not one per image), so an image without nucleus does not produce a
  0/0 Tversky index; with N = 1 it is the printed per-image form.
* **Exponent**: Eq. 10 as printed, ``(1 - mTI)^gamma``. Yeung's code raises to ``1 - gamma``
  instead; with Table A2's gamma = 1 the printed form is plain Tversky (spec §3.1) while the
  code's would be constant.
* **ignore_index**: pixels labelled ``ignore_index`` are left out of both terms: they do not
  count in the focal mean and add nothing to TP/FP/FN. With no valid pixel the loss is 0.
* **eps**: probabilities are clipped to ``[eps, 1 - eps]`` in Eq. 9 (finite log and finite
  ``(1 - p)^(1 - gamma)`` for gamma > 1), mTI is smoothed as ``(TP + eps) / (... + eps)``,
  and ``1 - mTI`` is floored at eps so that ``x^gamma`` with gamma < 1 keeps a finite
  gradient at a perfect prediction.

With gamma = 1: ``L_mF = mean_i w_i * (-log p_i)`` (delta-weighted cross-entropy) and
``L_mFT = sum_c (1 - TI_c)``, Tversky with alpha = delta on FP and beta = 1 - delta on FN.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ['unified_focal_loss']


def _check_args(probs: Tensor, target: Tensor, lam: float, delta: float, gamma: float) -> None:
    if probs.dim() < 3 or target.dim() != probs.dim() - 1:
        raise ValueError(f'probs must be (N, C, H, W) and target (N, H, W); got probs {tuple(probs.shape)} and '
                         f'target {tuple(target.shape)}')
    if probs.shape[0] != target.shape[0] or probs.shape[2:] != target.shape[1:]:
        raise ValueError(f'probs {tuple(probs.shape)} and target {tuple(target.shape)} disagree on batch or '
                         'spatial size')
    if probs.shape[1] < 2:
        raise ValueError(f'probs needs C >= 2 softmax channels (background + foreground), got C={probs.shape[1]}')
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise TypeError(f'target must hold integer class indices, got dtype {target.dtype}')
    for name, value in (('lam', lam), ('delta', delta)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'{name} must lie in [0, 1], got {value}')
    if gamma < 0:
        raise ValueError(f'gamma must be >= 0, got {gamma}')


def unified_focal_loss(probs: Tensor, target: Tensor, lam: float = 0.5, delta: float = 0.6,
                       gamma: float = 0.5, ignore_index: int | None = 255, eps: float = 1e-7) -> Tensor:
    """Eq. 11, ``lam * L_mF + (1 - lam) * L_mFT``, read as described in the module docstring.

    Args:
        probs: ``(N, C, H, W)`` class probabilities (softmax over C); class 0 is background.
        target: ``(N, H, W)`` integer labels in ``0..C-1`` or ``ignore_index``.
        lam: lambda of Eq. 11, the weight of the focal term (Table A2: 0.4-0.6).
        delta: delta of Eqs. 9-10 (Table A2: 0.4-0.8).
        gamma: gamma of Eqs. 9-10 (Table A2: 1.0 for every dataset).
        ignore_index: label excluded from both terms (None: every pixel counts).
        eps: clipping / smoothing constant.

    Returns:
        A scalar tensor; 0 (still attached to ``probs``) when every pixel is ignored.
    """
    _check_args(probs, target, lam, delta, gamma)
    num_classes = probs.shape[1]
    probs = probs.movedim(1, -1).reshape(-1, num_classes)  # (pixels, C)
    target = target.reshape(-1).long()
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    bad = target[valid & ((target < 0) | (target >= num_classes))]
    if bad.numel():
        raise ValueError(f'target holds labels {sorted(set(bad.tolist()))} outside 0..{num_classes - 1} '
                         f'(ignore_index={ignore_index})')
    probs, target = probs[valid], target[valid]
    if target.numel() == 0:
        return probs.sum() * 0.0

    # Eq. 9: delta-balanced focal cross-entropy on the probability of the true class.
    p_true = probs.gather(1, target[:, None]).squeeze(1).clamp(eps, 1.0 - eps)
    class_weight = torch.where(target > 0, probs.new_tensor(delta), probs.new_tensor(1.0 - delta))
    focal = (class_weight * (1.0 - p_true).pow(1.0 - gamma) * -torch.log(p_true)).mean()

    # Eq. 10: one modified Tversky index per class (that class as foreground), summed over classes.
    onehot = torch.nn.functional.one_hot(target, num_classes).to(probs.dtype)
    tp = (probs * onehot).sum(0)
    fp = (probs * (1.0 - onehot)).sum(0)
    fn = ((1.0 - probs) * onehot).sum(0)
    mti = (tp + eps) / (tp + delta * fp + (1.0 - delta) * fn + eps)
    tversky = (1.0 - mti).clamp_min(eps).pow(gamma).sum()

    return lam * focal + (1.0 - lam) * tversky
