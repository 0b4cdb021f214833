"""Flipping Attention Block (FAB) of ALL-FABNET (spec 003 §2.4, Fig. 4).

Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).

The paper describes FAB only in prose: a 1x1 conv, a reshape, "Memory Unit 1" (a Conv1D that
expands the channels 4x), "Memory Unit 2" (a Conv1D that restores them), "two Conv1D procedures
that share parameters", two "flipping" branches, a 1x1 conv on the combined branches and a
residual addition. Its memory unit is "the same model" as MALUNet's inverted external attention
(IEA). Readings taken here (spec 003 §2.9; each open one is a constructor switch):

* Reshape (ambiguity 6): ``C x N`` with ``N = H W``, as IEA does. The printed ``CH x W`` would
  need a 13,312 -> 53,248-channel Conv1D on DenseNet-169's bottleneck (~7e8 weights), which
  contradicts the "lightweight" claim.
* Memory units (:class:`ExternalMemoryUnit`): ``Conv1d(C, 4C, 1)`` without bias, softmax over the
  ``N`` positions, division by the sum over the ``4C`` memory slots (External Attention's double
  normalisation), then ``Conv1d(4C, C, 1)``. "Share parameters" (ambiguity 8) = tied weights:
  unit 2 uses the transpose of unit 1's weight (``tied_memory=True``, one tensor);
  ``tied_memory=False`` gives unit 2 its own weight.
* Flipping (ambiguity 7): ``flip='spatial'`` mirrors both spatial axes (``torch.flip``);
  ``flip='transpose'`` swaps H and W (square maps only).
* Un-flipping: the spec's sketch un-flips the second branch before fusing. Every operation of
  the memory unit is either per position (1x1 convs, the slot normalisation) or symmetric in the
  positions (the softmax over all ``N``), so it commutes with any permutation of the positions:
  ``unflip(MU(flip(y))) == MU(y)`` exactly, the two branches are identical and the block
  collapses to IEA with a re-parameterised 1x1 fusion (``tests/hemaseg/blocks/test_flipping_attention.py``
  shows it). Default ``unflip=False``: the second branch stays flipped, so the fusion conv sees
  every position's features next to those of its mirror position, which is the only reading in
  which the second branch adds anything. ``unflip=True`` is the spec's sketch.
* Fusion of the two branches: ``fusion='concat'`` (``Conv1x1(2C -> C)``) or ``'sum'``
  (``Conv1x1(C -> C)``).
* After the fusion conv: GroupNorm (4 groups) + the residual + GELU, as IEA (not stated by the
  paper).
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

FlipMode = Literal['spatial', 'transpose']
FusionMode = Literal['concat', 'sum']


class ExternalMemoryUnit(nn.Module):
    """The two Conv1D memory units of FAB/IEA with double normalisation (spec 003 §2.4).

    Args:
        channels: ``C`` of the input map.
        expansion: memory slots per channel (the paper's "multiplied by four": 4).
        tied_memory: unit 2 uses the transpose of unit 1's weight ("two Conv1D procedures that
            share parameters"); ``False`` gives it an independent weight.
        eps: added to the slot sum of the second normalisation.
    """

    def __init__(self, channels: int, expansion: int = 4, tied_memory: bool = True, eps: float = 1e-9):
        super().__init__()
        if channels < 1 or expansion < 1:
            raise ValueError(f'channels and expansion must be >= 1, got {channels}, {expansion}')
        self.channels, self.expansion, self.eps = channels, expansion, eps
        self.memory_in = nn.Conv1d(channels, channels * expansion, 1, bias=False)
        self.memory_out = None if tied_memory else nn.Conv1d(channels * expansion, channels, 1, bias=False)

    @property
    def tied_memory(self) -> bool:
        return self.memory_out is None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        if c != self.channels:
            raise ValueError(f'expected {self.channels} channels, got {c}')
        attn = self.memory_in(x.reshape(b, c, h * w)).softmax(dim=-1)  # over positions
        attn = attn / (attn.sum(dim=1, keepdim=True) + self.eps)         # over memory slots
        if self.memory_out is None:
            out = F.conv1d(attn, self.memory_in.weight.transpose(0, 1))
        else:
            out = self.memory_out(attn)
        return out.reshape(b, c, h, w)


class FlippingAttentionBlock(nn.Module):
    """FAB: ``GELU(GN(Conv1x1(fuse[MU(y), flip(MU(flip(y)))...])) + x)`` with ``y = Conv1x1(x)``.

    Args:
        channels: input = output channels.
        expansion: memory expansion (4).
        flip: ``'spatial'`` (both axes mirrored) or ``'transpose'`` (H <-> W).
        fusion: ``'concat'`` or ``'sum'`` of the two branches before the 1x1 conv.
        unflip: flip the second branch back before fusing (the spec's sketch; makes the branches
            identical, see the module docstring).
        tied_memory: see :class:`ExternalMemoryUnit`.
        num_groups: GroupNorm groups after the fusion conv (IEA: 4; must divide ``channels``).
    """

    def __init__(self, channels: int, expansion: int = 4, flip: FlipMode = 'spatial',
                 fusion: FusionMode = 'concat', unflip: bool = False, tied_memory: bool = True,
                 num_groups: int = 4):
        super().__init__()
        if flip not in ('spatial', 'transpose'):
            raise ValueError(f"flip must be 'spatial' or 'transpose', got {flip!r}")
        if fusion not in ('concat', 'sum'):
            raise ValueError(f"fusion must be 'concat' or 'sum', got {fusion!r}")
        if channels % num_groups:
            raise ValueError(f'num_groups={num_groups} must divide channels={channels}')
        self.flip_mode, self.fusion, self.unflip = flip, fusion, unflip
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.memory = ExternalMemoryUnit(channels, expansion, tied_memory)
        self.fuse = nn.Conv2d(channels * (2 if fusion == 'concat' else 1), channels, 1, bias=False)
        self.norm = nn.GroupNorm(num_groups, channels)
        self.act = nn.GELU()

    def flip(self, x: torch.Tensor) -> torch.Tensor:
        """The flipping layer; an involution, so it also un-flips."""
        if self.flip_mode == 'spatial':
            return torch.flip(x, dims=(-2, -1))
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"flip='transpose' needs a square map, got {tuple(x.shape[-2:])}")
        return x.transpose(-2, -1)

    def branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The direct and the flipped branch, before fusion."""
        y = self.proj_in(x)
        flipped = self.memory(self.flip(y))
        return self.memory(y), self.flip(flipped) if self.unflip else flipped

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        direct, flipped = self.branches(x)
        fused = torch.cat((direct, flipped), dim=1) if self.fusion == 'concat' else direct + flipped
        return self.act(self.norm(self.fuse(fused)) + x)
