"""Dual-domain attention module (DDAM) of YOLACT-CIS (spec 001 §2.3).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

DDAM = frequency-domain channel attention (FCAM, Eqs. 1-8) followed in series by
CBAM's spatial attention (SAM). Resolutions of spec §2.3.2:

* A1/A2: default components are {Y00, Y01, Y10}; ``Y_hw`` has frequency ``h``
  along the rows (index i, height H) and ``w`` along the columns (j, width W),
  as the formulas say (the prose swaps the names).
* A3: sums run over the spatial indices i, j.
* A4/A5: one shared ``MLP(y) = W1 ReLU(W0 y)`` (Linear layers with bias, r = 16)
  for every component; the logits are summed, then a sigmoid.
* A6: ``dct_norm`` chooses the scaling of the basis. ``'none'`` is the literal
  Eq. (1) (``Y00 = H W GAP``, so the MLP input grows with the level size and the
  sigmoid saturates at init); ``'mean'`` (default, a declared deviation) divides
  by ``H W`` so ``Y00 = GAP`` exactly at every level; ``'ortho'`` is the
  orthonormal DCT-II (FcaNet).
* A7: SAM = ``sigmoid(Conv7x7([mean_c; max_c]))`` without BN.
* A8: both gates multiply (``F' = M_F * F``, ``F'' = M_S(F') * F'``), no residual.
* A9: the basis is built for the run-time ``H x W`` and cached per size/device/dtype.

Table 3 of the paper is reproduced by ``freqs`` (``((0, 0),)``, ``((0, 0), (0, 1))``,
... ``((0, 0), (0, 1), (1, 0), (1, 1))``) and its CBAM row by
``freqs=((0, 0),), add_max_pool=True`` (with ``dct_norm='mean'``, Y00 = GAP).
"""
from __future__ import annotations

import functools
import math
from typing import Literal, Sequence

import torch
import torch.nn as nn

from .attention import SpatialGate

DCTNorm = Literal['none', 'mean', 'ortho']
DEFAULT_FREQS = ((0, 0), (0, 1), (1, 0))


@functools.lru_cache(maxsize=64)
def _cached_dct_basis(height: int, width: int, freqs: tuple[tuple[int, int], ...], norm: str,
                      device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    # A basis first requested under torch.inference_mode() must stay usable by later
    # autograd-enabled calls, so never create an inference tensor here.
    with torch.inference_mode(False):
        i = torch.arange(height, dtype=torch.float64)
        j = torch.arange(width, dtype=torch.float64)
        bases = []
        for h, w in freqs:
            if h >= height or w >= width:
                # The component does not exist at this size (e.g. Y10 on a 1-row map).
                bases.append(torch.zeros(height, width, dtype=torch.float64))
                continue
            basis = torch.outer(torch.cos(math.pi * h / height * (i + 0.5)),
                                torch.cos(math.pi * w / width * (j + 0.5)))
            if norm == 'mean':
                basis = basis / (height * width)
            elif norm == 'ortho':
                basis = basis * (math.sqrt((1 if h == 0 else 2) / height) * math.sqrt((1 if w == 0 else 2) / width))
            bases.append(basis)
        return torch.stack(bases).to(device=device, dtype=dtype)


def dct_basis(height: int, width: int, freqs: Sequence[tuple[int, int]] = DEFAULT_FREQS,
              norm: DCTNorm = 'mean', device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """2D DCT-II basis images ``cos(pi h (i + 1/2) / H) cos(pi w (j + 1/2) / W)`` (spec 001 Eq. 1).

    Returns a (K, H, W) tensor, one image per ``(h, w)`` in ``freqs``; frequencies that do not
    fit the size give a zero image. ``norm`` as in the module docstring. Cached (do not modify).
    """
    if norm not in ('none', 'mean', 'ortho'):
        raise ValueError(f"norm must be 'none', 'mean' or 'ortho', got {norm!r}")
    return _cached_dct_basis(height, width, tuple((int(h), int(w)) for h, w in freqs), norm,
                             torch.device(device if device is not None else 'cpu'), dtype)


class FrequencyChannelAttention(nn.Module):
    """FCAM (spec 001 §2.3, Eq. 8): ``M_F = sigmoid(sum_k MLP(Y_k))``, output ``M_F * x``.

    Args:
        channels: C.
        reduction: r of the shared MLP (C -> C/r -> C).
        freqs: DCT components ``(h, w)`` used as channel descriptors.
        dct_norm: basis scaling, ``'none'`` (literal), ``'mean'`` or ``'ortho'``.
        add_max_pool: also feed the global-max-pool descriptor through the MLP
            (CBAM's channel attention when ``freqs=((0, 0),)`` and ``dct_norm='mean'``).
    """

    def __init__(self, channels: int, reduction: int = 16, freqs: Sequence[tuple[int, int]] = DEFAULT_FREQS,
                 dct_norm: DCTNorm = 'mean', add_max_pool: bool = False):
        super().__init__()
        if not freqs:
            raise ValueError('freqs must name at least one DCT component')
        if dct_norm not in ('none', 'mean', 'ortho'):
            raise ValueError(f"dct_norm must be 'none', 'mean' or 'ortho', got {dct_norm!r}")
        self.freqs = tuple((int(h), int(w)) for h, w in freqs)
        self.dct_norm = dct_norm
        self.add_max_pool = add_max_pool
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def descriptors(self, x: torch.Tensor) -> torch.Tensor:
        """Channel descriptors ``Y^k_{h,w}`` (Eqs. 5-7), shape (K, B, C), K = len(freqs) (+1 for max pool)."""
        basis = dct_basis(x.shape[-2], x.shape[-1], self.freqs, self.dct_norm, x.device, x.dtype)
        y = torch.einsum('bchw,khw->kbc', x, basis)
        if self.add_max_pool:
            y = torch.cat([y, x.amax(dim=(2, 3))[None]], dim=0)
        return y

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Channel weights ``M_F`` of shape (B, C, 1, 1)."""
        return torch.sigmoid(self.mlp(self.descriptors(x)).sum(dim=0))[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class DualDomainAttention(nn.Module):
    """DDAM (spec 001 §2.3): FCAM then SAM in series, ``F'' = M_S(F') * F'`` with ``F' = M_F(F) * F``.

    Args:
        channels: C (256 after the DFFN).
        reduction, freqs, dct_norm, add_max_pool: see :class:`FrequencyChannelAttention`.
        spatial_kernel: SAM conv kernel.
    """

    def __init__(self, channels: int, reduction: int = 16, freqs: Sequence[tuple[int, int]] = DEFAULT_FREQS,
                 dct_norm: DCTNorm = 'mean', add_max_pool: bool = False, spatial_kernel: int = 7):
        super().__init__()
        self.channel_attention = FrequencyChannelAttention(channels, reduction, freqs, dct_norm, add_max_pool)
        self.spatial_attention = SpatialGate(spatial_kernel, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial_attention(self.channel_attention(x))
