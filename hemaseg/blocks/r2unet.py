"""R2U-Net: recurrent residual convolutional U-Net (Alom et al. 2018).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

A baseline of MSFF-SegNeXt's Tables 1 and 3 (spec 000 §6.2). With ``t=2``, base width 64
and a 1-channel classifier this layout has exactly the 39,091,393 parameters of the
paper's Table 1, which is how the test pins it down.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=True),
                         nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class RecurrentConv(nn.Module):
    """x_{k+1} = f(x + x_k), x_0 = f(x), unrolled ``t`` times with one shared conv f."""

    def __init__(self, channels: int, t: int = 2):
        super().__init__()
        self.t = t
        self.conv = _conv_bn_relu(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        for _ in range(self.t):
            h = self.conv(x + h)
        return h


class RecurrentResidualBlock(nn.Module):
    """1x1 projection followed by two recurrent convs with a residual connection (RRCU)."""

    def __init__(self, in_ch: int, out_ch: int, t: int = 2):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, out_ch, 1)
        self.body = nn.Sequential(RecurrentConv(out_ch, t), RecurrentConv(out_ch, t))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return x + self.body(x)


class R2UNet(nn.Module):
    """R2U-Net encoder-decoder. Returns the full-resolution decoder feature map
    (B, base_channels, H, W), or logits when ``num_classes`` is given.

    H and W must be divisible by 2 ** (num_stages - 1).
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64, num_stages: int = 5,
                 t: int = 2, num_classes: int | None = None):
        super().__init__()
        widths = [base_channels * 2 ** i for i in range(num_stages)]
        self.downsample_factor = 2 ** (num_stages - 1)
        self.encoders = nn.ModuleList()
        prev = in_channels
        for w in widths:
            self.encoders.append(RecurrentResidualBlock(prev, w, t))
            prev = w
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w_hi, w_lo in zip(widths[:0:-1], widths[-2::-1]):
            self.ups.append(nn.Sequential(nn.Upsample(scale_factor=2), _conv_bn_relu(w_hi, w_lo)))
            self.decoders.append(RecurrentResidualBlock(2 * w_lo, w_lo, t))
        self.classifier = nn.Conv2d(base_channels, num_classes, 1) if num_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.downsample_factor or x.shape[-2] % self.downsample_factor:
            raise ValueError(f'R2UNet input size {tuple(x.shape[-2:])} must be divisible by '
                             f'{self.downsample_factor}')
        skips = []
        for i, enc in enumerate(self.encoders):
            x = enc(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, dec, skip in zip(self.ups, self.decoders, skips[-2::-1]):
            x = dec(torch.cat([skip, up(x)], dim=1))
        return self.classifier(x) if self.classifier is not None else x
