"""FPN with attention and bottom-up path with attention of R-Mask R-CNN (spec 004 §2.2.2-2.2.6).

Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

Notation: the inputs are the backbone maps C2..C5 (the paper calls them P2..P5),
the top-down outputs F2..F5, the bottom-up outputs N2..N5 and N6 = max-pool(N5).

Resolutions of the spec 004 ambiguity register (§2.5):

* A2/A3 (the paper's softmax attentions are numerically broken): the literal
  softmax weights sum to 1 over C channels (CA) or over H*W pixels (SA), so
  ``x * softmax`` shrinks the features by ~1/C or ~1/(H*W) at every attended
  level. ``literal=False`` (default, a declared deviation) applies fix (i) of
  §2.2.4: multiply the weights by C (CA) or H*W (SA) so they average exactly 1;
  ``literal=True`` keeps the paper's form.
* A4/A5: CA = one 1x1 conv C -> C (with bias) on the average-pooled vector
  (Eq. 1); SA = one 1x1 conv C -> 1 (with bias). No other non-linearity.
* A6: "CA-SA" = SA(CA(x)), "SA-CA" = CA(SA(x)).
* A7: ``N2 = F2``; ``N_{x+1} = AM(ReLU(Conv3x3_s2(N_x)) + F_{x+1})`` (ReLU after
  the stride-2 conv as in PANet); no conv after the sum (§2.2.3, A8).
* A1: the final model "B-U-CA-SA" is a plain top-down FPN and CA -> SA after each
  bottom-up sum (N3..N5); ``top_down_attention`` adds the FPN-AM variant
  (``F_x = AM(C_x)``; the recursion runs on the pre-attention maps, §2.2.2).
* A8: the usual FPN 3x3 output conv (Detectron2 default) is kept by default
  (``output_convs``), placed before the top-down attention.
* §2.2.7: N6 = max-pool kernel 1, stride 2 of N5 (Detectron2 / Matterport).
* Upsampling: nearest (Detectron2 default) to the lateral's exact size (= x2 for
  ResNet sizes).
"""
from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ghost import ConvNormAct

AttentionOrder = Literal['none', 'ca', 'sa', 'ca-sa', 'sa-ca']


class SoftmaxChannelAttention(nn.Module):
    """CA of spec 004 §2.2.4: ``a = softmax_c(Conv1x1(GAP(x)))``, output ``a * x`` (``C a * x`` if not literal)."""

    def __init__(self, channels: int, literal: bool = False):
        super().__init__()
        self.literal = literal
        self.fc = nn.Conv2d(channels, channels, 1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Channel weights (B, C, 1, 1): sum 1 over channels if literal, else mean 1."""
        weights = torch.softmax(self.fc(x.mean(dim=(2, 3), keepdim=True)), dim=1)
        return weights if self.literal else weights * x.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class SoftmaxSpatialAttention(nn.Module):
    """SA of spec 004 §2.2.5: ``m = softmax_{h,w}(Conv1x1(x))``, output ``m * x`` (``H W m * x`` if not literal)."""

    def __init__(self, channels: int, literal: bool = False):
        super().__init__()
        self.literal = literal
        self.conv = nn.Conv2d(channels, 1, 1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel weights (B, 1, H, W): sum 1 over pixels if literal, else mean 1."""
        b, _, h, w = x.shape
        weights = torch.softmax(self.conv(x).reshape(b, 1, h * w), dim=-1).reshape(b, 1, h, w)
        return weights if self.literal else weights * (h * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


def build_attention(order: AttentionOrder | None, channels: int, literal: bool = False) -> nn.Module:
    """Attention module AM of spec 004 §2.2.6: ``None``/'none' -> identity, 'ca', 'sa', 'ca-sa', 'sa-ca'."""
    if order in (None, 'none'):
        return nn.Identity()
    if order not in ('ca', 'sa', 'ca-sa', 'sa-ca'):
        raise ValueError(f"attention order must be None, 'none', 'ca', 'sa', 'ca-sa' or 'sa-ca', got {order!r}")
    parts = {'ca': SoftmaxChannelAttention, 'sa': SoftmaxSpatialAttention}
    return nn.Sequential(*(parts[name](channels, literal) for name in order.split('-')))


class AttentionFPN(nn.Module):
    """FPN-AM top-down path + B-U-AM bottom-up path (spec 004 §2.2.2-2.2.3).

    Args:
        in_channels: channels of C2..C5 (ResNet-50: 256, 512, 1024, 2048), finest first.
        out_channels: channels of every level (paper: 256).
        top_down_attention: AM applied to each F_x (FPN-AM); ``None`` = plain FPN.
        bottom_up: add the bottom-up path (N levels).
        bottom_up_attention: AM applied to N3..N5 (final model "B-U-CA-SA": 'ca-sa');
            must be ``None`` when ``bottom_up=False``.
        literal: use the paper's literal softmax attention (shrinks features); default the fix.
        output_convs: 3x3 conv on each merged top-down map (standard FPN).
        extra_level: append N6 (F6 without bottom-up) = max-pool(k=1, s=2) of the last level.
        upsample_mode: ``F.interpolate`` mode of the top-down path.
        norm_layer: optional normalisation after each conv; ``None`` = bias only (Detectron2 default).

    ``forward(feats)`` takes C2..C5 (list/tuple, finest first) and returns a tuple ordered
    finest first: ``(N2, N3, N4, N5, N6)`` at strides (4, 8, 16, 32, 64), or
    ``(F2, F3, F4, F5, F6)`` with ``bottom_up=False``. Plain FPN + bottom-up:
    ``top_down_attention=None, bottom_up_attention=None``.
    """

    def __init__(self, in_channels: Sequence[int] = (256, 512, 1024, 2048), out_channels: int = 256,
                 top_down_attention: AttentionOrder | None = None, bottom_up: bool = True,
                 bottom_up_attention: AttentionOrder | None = 'ca-sa', literal: bool = False,
                 output_convs: bool = True, extra_level: bool = True, upsample_mode: str = 'nearest',
                 norm_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        if len(in_channels) < 2:
            raise ValueError('need at least two input levels')
        if not bottom_up and bottom_up_attention not in (None, 'none'):
            raise ValueError('bottom_up_attention needs bottom_up=True')
        self.upsample_mode = upsample_mode
        # F.interpolate rejects align_corners for 'nearest'.
        self._align_corners = False if upsample_mode in ('linear', 'bilinear', 'bicubic', 'trilinear') else None
        self.extra_level = extra_level
        n = len(in_channels)

        self.lateral_convs = nn.ModuleList(
            ConvNormAct(c, out_channels, 1, norm_layer=norm_layer, act_layer=None) for c in in_channels)
        self.output_convs = (nn.ModuleList(ConvNormAct(out_channels, out_channels, 3, norm_layer=norm_layer,
                                                       act_layer=None) for _ in range(n))
                             if output_convs else None)
        self.top_down_attentions = nn.ModuleList(
            build_attention(top_down_attention, out_channels, literal) for _ in range(n))
        if bottom_up:
            self.downsample_convs = nn.ModuleList(
                ConvNormAct(out_channels, out_channels, 3, 2, norm_layer=norm_layer) for _ in range(n - 1))
            self.bottom_up_attentions = nn.ModuleList(
                build_attention(bottom_up_attention, out_channels, literal) for _ in range(n - 1))
        else:
            self.downsample_convs = self.bottom_up_attentions = None

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(feats) != len(self.lateral_convs):
            raise ValueError(f'expected {len(self.lateral_convs)} feature maps, got {len(feats)}')
        merged = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        for k in range(len(merged) - 2, -1, -1):
            merged[k] = merged[k] + F.interpolate(merged[k + 1], size=merged[k].shape[-2:],
                                                  mode=self.upsample_mode, align_corners=self._align_corners)
        if self.output_convs is not None:
            merged = [conv(c) for conv, c in zip(self.output_convs, merged)]
        outs = [att(c) for att, c in zip(self.top_down_attentions, merged)]
        if self.downsample_convs is not None:
            for k, (down, att) in enumerate(zip(self.downsample_convs, self.bottom_up_attentions)):
                outs[k + 1] = att(down(outs[k]) + outs[k + 1])
        if self.extra_level:
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
