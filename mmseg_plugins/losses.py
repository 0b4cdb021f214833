"""Unified Focal Loss (spec 002 Eqs. 9-11) as an mmseg loss (the maths is :mod:`hemaseg.losses`), and
mmseg's training accuracy without a host-device synchronisation.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from hemaseg.losses import unified_focal_loss
from mmseg.registry import MODELS


@MODELS.register_module()
class UnifiedFocalLoss(nn.Module):
    """``loss_weight * (lam * L_mF + (1 - lam) * L_mFT)`` on softmax probabilities of the logits.

    Takes mmseg's loss call (``cls_score`` ``(N, C, H, W)`` logits, ``label`` ``(N, H, W)``,
    ``weight``, ``ignore_index``) as ``BaseDecodeHead.loss_by_feat`` makes it. The softmax is
    taken here, in float32 (the loss sums over every pixel of the batch). Class 0 is the
    background and class 1 the nucleus; see :mod:`hemaseg.losses` for how the printed
    formulas are read (lambda on the focal term as Eq. 11 prints it, symmetric delta
    weighting, batch-wide Tversky sums, ``ignore_index`` pixels left out).

    Table A2 values per dataset are set in the configs (``configs/unet_monai``).
    """

    def __init__(self, lam: float = 0.5, delta: float = 0.6, gamma: float = 0.5, loss_weight: float = 1.0,
                 ignore_index: int = 255, loss_name: str = 'loss_ufl'):
        super().__init__()
        self.lam = lam
        self.delta = delta
        self.gamma = gamma
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, weight: Tensor | None = None,
                ignore_index: int | None = None, **kwargs) -> Tensor:
        """``ignore_index`` given by the decode head wins over the constructor's (as mmseg's CE)."""
        if weight is not None:
            # A pixel sampler (OHEM) hands per-pixel weights; Eqs. 9-11 define none.
            raise ValueError('UnifiedFocalLoss does not take per-pixel weights: remove the decode head `sampler`')
        ignore = self.ignore_index if ignore_index is None else ignore_index
        probs = cls_score.float().softmax(dim=1)
        return self.loss_weight * unified_focal_loss(probs, label, lam=self.lam, delta=self.delta,
                                                     gamma=self.gamma, ignore_index=ignore)

    def extra_repr(self) -> str:
        return f'lam={self.lam}, delta={self.delta}, gamma={self.gamma}, loss_weight={self.loss_weight}'

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict; the ``loss_`` prefix puts it in the backward graph."""
        return self._loss_name


def sync_free_accuracy(pred: Tensor, target: Tensor, topk=1, thresh=None, ignore_index=None):
    """mmseg's training accuracy (``mmseg.models.losses.accuracy``, logged as ``acc_seg``), computed
    without a host-device synchronisation.

    mmseg selects the non-ignored pixels with boolean-mask indexing, which makes the CPU wait for
    the GPU twice per decode head and step (the mask's number of ``True`` entries is a GPU
    result; ``hemaseg.host_sync`` finds them). Here the ignored pixels are multiplied out and the
    count stays a tensor. Same arguments and values (percent, shape ``(1,)`` per ``k``) up to float
    rounding; ``mmseg_plugins`` installs it as the accuracy of ``BaseDecodeHead.loss_by_feat``.
    """
    single = isinstance(topk, int)
    topk = (topk,) if single else tuple(topk)
    if pred.size(0) == 0:
        out = [pred.new_tensor(0.) for _ in topk]
        return out[0] if single else out
    if pred.ndim != target.ndim + 1 or pred.size(0) != target.size(0) or max(topk) > pred.size(1):
        raise ValueError(f'accuracy: prediction {tuple(pred.shape)} and target {tuple(target.shape)} do not match '
                         f'for top-{max(topk)}')
    pred_value, pred_label = pred.topk(max(topk), dim=1)
    correct = pred_label.transpose(0, 1).eq(target.unsqueeze(0))  # (maxk, N, ...)
    if thresh is not None:
        correct = correct & (pred_value > thresh).transpose(0, 1)
    eps = torch.finfo(torch.float32).eps
    if ignore_index is not None:
        valid = target != ignore_index
        correct = correct & valid.unsqueeze(0)
        total = valid.sum().float() + eps
    else:
        total = target.numel() + eps
    out = [(correct[:k].reshape(-1).float().sum(0, keepdim=True) + eps) * (100.0 / total) for k in topk]
    return out[0] if single else out
