"""Unified Focal Loss (spec 002 Eqs. 9-11) as an mmseg loss; the maths is :mod:`hemaseg.losses`."""
from __future__ import annotations

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

    Table A2 values per dataset are set in the configs (``configs/explainable_cad``).
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
