"""Mish (spec 002 Eq. 8) where mmcv's ``build_activation_layer`` looks it up.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

mmcv 2.1 registers ReLU, LeakyReLU, PReLU, RReLU, ReLU6, ELU, Sigmoid, Tanh, SiLU, GELU,
HSwish, HSigmoid, Swish and Clamp in MMEngine's root ``MODELS`` registry, but not Mish.
``torch.nn.Mish`` (``x * tanh(softplus(x))``, Eq. 8) is registered there under ``'Mish'``
when no one has registered that name yet, so ``dict(type='Mish')`` builds in every
OpenMMLab scope (mmpretrain, mmseg, mmdet look up their parent registry).
"""
from __future__ import annotations

import torch.nn as nn
from mmengine.registry import MODELS as ROOT_MODELS


def register_mish() -> None:
    """Register ``nn.Mish`` as ``'Mish'`` in MMEngine's root MODELS unless the name is taken."""
    if ROOT_MODELS.get('Mish') is None:
        ROOT_MODELS.register_module(name='Mish', module=nn.Mish)


register_mish()
