"""CBAM and the Edge-Guided Attention of MSFF-SegNeXt (spec 000 §2.3).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

Plain PyTorch so the OpenMMLab and Detectron2 adapters can share them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .edges import laplacian_band


class ChannelGate(nn.Module):
    """CBAM channel gate: s = sigmoid(MLP(AvgPool z) + MLP(MaxPool z)), z <- z * s."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.mlp(z.mean(dim=(2, 3))) + self.mlp(z.amax(dim=(2, 3)))
        return z * torch.sigmoid(logits)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial gate: m = sigmoid(Conv_kxk([max_c z; mean_c z])), z <- z * m.

    Also DDAM's spatial attention SAM (spec 001 §2.3.2 A7), which has no conv bias.
    """

    def __init__(self, kernel_size: int = 7, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=bias)

    def gate(self, z: torch.Tensor) -> torch.Tensor:
        """Spatial weights m of shape (B, 1, H, W)."""
        pooled = torch.cat([z.amax(dim=1, keepdim=True), z.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.gate(z)


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Woo et al. 2018): channel gate, then spatial gate."""

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7):
        super().__init__()
        self.channel_gate = ChannelGate(channels, reduction)
        self.spatial_gate = SpatialGate(spatial_kernel)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.spatial_gate(self.channel_gate(z))


class EdgeGuidedAttention(nn.Module):
    """Edge-Guided Attention, MSFF-SegNeXt's "improved" MEGANet EGA (spec 000 §2.3, A7-A10).

    Inputs: ``x`` encoder stage-4 features resized to the decoder grid (B, C, h, w);
    ``pred`` decoder features after the first Fea block (B, C, h, w); ``edge`` a
    fixed edge map of the input image (B, 1, H', W').

    Multi-scale feature fusion::

        p      = sigmoid(pred)
        f_rev  = x * (1 - p)                        reverse attention
        f_bnd  = x * L(p)                           boundary attention, Laplacian band per channel
        f_edge = x * resize(edge)                   edge branch, broadcast over channels
        f      = ReLU(BN(Conv3x3_{3C->C}([f_rev, f_bnd, f_edge])))
        a      = sigmoid(BN(Conv3x3_{C->1}(f)))

    Feature secondary processing: ``out = CBAM(f * a + x)``.

    The "improvement" over MEGANet is that ``pred`` is a C-channel feature rather than a
    1-channel mask, so sigmoid and the Laplacian act channel-wise; this adds no
    parameters, which is why EGA(256) has exactly 1,781,110 of them (spec 000 §2.3).
    """

    def __init__(self, channels: int, cbam_reduction: int = 16, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.fusion = nn.Sequential(
            nn.Conv2d(3 * channels, channels, 3, padding=1), norm_layer(channels), nn.ReLU(inplace=True))
        self.attention = nn.Sequential(
            nn.Conv2d(channels, 1, 3, padding=1), norm_layer(1), nn.Sigmoid())
        self.cbam = CBAM(channels, cbam_reduction)

    def forward(self, x: torch.Tensor, pred: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        if x.shape != pred.shape:
            raise ValueError(f'EdgeGuidedAttention: x {tuple(x.shape)} and pred {tuple(pred.shape)} must match')
        p = torch.sigmoid(pred)
        reverse = x * (1 - p)
        boundary = x * laplacian_band(p)
        edge = F.interpolate(edge.to(x.dtype), size=x.shape[-2:], mode='bilinear', align_corners=True)
        fused = self.fusion(torch.cat([reverse, boundary, x * edge], dim=1))
        return self.cbam(fused * self.attention(fused) + x)
