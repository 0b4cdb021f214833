"""Dual-stream feature fusion network (DFFN) of YOLACT-CIS (spec 001 §2.2, §2.3).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

FPN top-down path + PANet-style bottom-up path from C3..C5 to N3..N7, with one
DDAM per output level. Resolutions of spec 001 Appendix A:

* #3: ``N_{k+1} = ReLU(Conv3x3(P_{k+1} + ReLU(Conv3x3_s2(N_k))))`` for k = 3, 4.
* #4: ``N3 = P3``.
* #5: stride-2 3x3 convs (pad 1) for every downsampling; N6 from N5, N7 from N6,
  without ReLU (YOLACT's extra levels).
* #6: YOLACT's 3x3 conv + ReLU on every ``P_k`` after the additions, so that
  ``bottom_up=False`` is exactly the YOLACT FPN baseline of Tables 4/5.
* #7: bilinear upsampling (``align_corners=False``) to the lateral map's exact
  size (69/35/18 at 550 are not exact halvings).
* #13: a separate DDAM per level; #14: the protonet input is N3 *before* DDAM,
  available from :meth:`DualStreamFeatureFusion.fuse`.
* §2.2 item 4: no normalisation by default (YOLACT's FPN has none).

Ablations: Table 5 rows 1-2 ``bottom_up=False, attention=False``; row 3 / Table 4
"FPN" ``bottom_up=False``; row 4 / Table 4 "DFFN" the defaults; Table 3 via
``attention_kwargs`` (see :mod:`hemaseg.blocks.ddam`).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ddam import DualDomainAttention
from .ghost import ConvNormAct


class DualStreamFeatureFusion(nn.Module):
    """DFFN neck (spec 001 §2.2) with optional DDAM per output level (§2.3).

    Args:
        in_channels: channels of the backbone maps, finest first (ResNet-50 C3..C5: 512, 1024, 2048).
        out_channels: channels of every output level (paper: 256).
        bottom_up: add the PANet-style bottom-up path (DFFN); ``False`` = YOLACT FPN.
        num_extra_levels: stride-2 levels appended after the coarsest one (N6, N7).
        attention: apply a DDAM to every output level.
        attention_kwargs: extra arguments of :class:`DualDomainAttention` (freqs, dct_norm, ...).
        upsample_mode: ``F.interpolate`` mode of the top-down path.
        norm_layer: optional normalisation after each conv (e.g. GroupNorm factory); ``None`` = bias only.

    ``forward(feats)`` takes the maps listed by ``in_channels`` (a list/tuple, finest first) and
    returns a tuple ordered by level, finest first: with C3..C5 inputs ``(N3, N4, N5, N6, N7)``
    at strides (8, 16, 32, 64, 128) (``P`` instead of ``N`` when ``bottom_up=False``).
    """

    def __init__(self, in_channels: Sequence[int] = (512, 1024, 2048), out_channels: int = 256,
                 bottom_up: bool = True, num_extra_levels: int = 2, attention: bool = True,
                 attention_kwargs: dict[str, Any] | None = None, upsample_mode: str = 'bilinear',
                 norm_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        if len(in_channels) < 2:
            raise ValueError('need at least two input levels')
        if attention_kwargs and not attention:
            raise ValueError('attention_kwargs given but attention=False')
        self.upsample_mode = upsample_mode
        # F.interpolate rejects align_corners for 'nearest'.
        self._align_corners = False if upsample_mode in ('linear', 'bilinear', 'bicubic', 'trilinear') else None
        self.num_outs = len(in_channels) + num_extra_levels

        def conv(k: int, stride: int = 1, relu: bool = True) -> ConvNormAct:
            return ConvNormAct(out_channels, out_channels, k, stride, norm_layer=norm_layer,
                               act_layer=nn.ReLU if relu else None)

        self.lateral_convs = nn.ModuleList(
            ConvNormAct(c, out_channels, 1, norm_layer=norm_layer, act_layer=None) for c in in_channels)
        self.fpn_convs = nn.ModuleList(conv(3) for _ in in_channels)
        if bottom_up:
            self.downsample_convs = nn.ModuleList(conv(3, 2) for _ in in_channels[1:])
            self.fusion_convs = nn.ModuleList(conv(3) for _ in in_channels[1:])
        else:
            self.downsample_convs = self.fusion_convs = None
        self.extra_convs = nn.ModuleList(conv(3, 2, relu=False) for _ in range(num_extra_levels))
        self.attentions = (nn.ModuleList(DualDomainAttention(out_channels, **(attention_kwargs or {}))
                                         for _ in range(self.num_outs)) if attention else None)

    def fuse(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Top-down and bottom-up fusion without attention: ``[N3, ..., N7]`` (``N3`` feeds the protonet)."""
        if len(feats) != len(self.lateral_convs):
            raise ValueError(f'expected {len(self.lateral_convs)} feature maps, got {len(feats)}')
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        for k in range(len(laterals) - 2, -1, -1):
            laterals[k] = laterals[k] + F.interpolate(laterals[k + 1], size=laterals[k].shape[-2:],
                                                      mode=self.upsample_mode, align_corners=self._align_corners)
        outs = [conv(p) for conv, p in zip(self.fpn_convs, laterals)]
        if self.fusion_convs is not None:
            for k, (down, fusion) in enumerate(zip(self.downsample_convs, self.fusion_convs)):
                outs[k + 1] = fusion(outs[k + 1] + down(outs[k]))
        for conv in self.extra_convs:
            outs.append(conv(outs[-1]))
        return outs

    def attend(self, levels: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """DDAM on each level (identity when ``attention=False``)."""
        if self.attentions is None:
            return tuple(levels)
        return tuple(att(x) for att, x in zip(self.attentions, levels))

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return self.attend(self.fuse(feats))
