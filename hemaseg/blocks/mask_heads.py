"""R-Mask R-CNN's "semantic segmentation layer" mask head (spec 004 §2.2.8, reading (B)).

Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

The paper: "a new semantic segmentation layer takes the place of the earlier [...] layer; this
layer allows for feature fusion through the construction of an FPN and the summing of backward
and forward transmissions of feature maps of identical resolution", used "to refine the
segmentation results" (Algorithm step 7). No layer list is given; the spec recommends replacing
Mask R-CNN's 4-conv mask head by a small pyramid built *inside the RoI*:

    f_0 = Conv3x3(x)                                    (e.g. 14 x 14 RoI features)
    f_k = Conv3x3_s2(f_{k-1})            k = 1..L-1     forward (bottom-up) path: 7 x 7, 4 x 4
    t_{L-1} = f_{L-1};  t_k = f_k + Up(t_{k+1})         backward (top-down) path, summed at equal size
    y = ReLU(Deconv2x2_s2(Conv3x3(t_0)))  ->  Conv1x1 to one mask logit map per class (28 x 28)

so every output pixel sees the RoI at several receptive-field sizes. With the default three
levels it has four 3x3 convs, a deconv and a 1x1 conv like the standard head, hence the same
parameter count (2,622,977 for 256 channels and one class).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ghost import ConvNormAct


class SemanticFusionMaskHead(nn.Module):
    """Mask head with an intra-RoI feature pyramid (see module docstring).

    Args:
        in_channels: RoI feature channels (256).
        channels: width of every conv (256).
        num_classes: mask logit maps (1 per class; 1 for class-agnostic masks).
        num_levels: pyramid levels inside the RoI (3: 14, 7, 4 for 14 x 14 RoIs); 1 = no pyramid.
        norm_layer: optional normalisation after each conv (``None``: conv bias).

    ``forward(x)``: ``(N, in_channels, h, w)`` RoI features -> ``(N, num_classes, 2h, 2w)`` logits.
    """

    def __init__(self, in_channels: int = 256, channels: int = 256, num_classes: int = 1, num_levels: int = 3,
                 norm_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1, got {num_levels}')
        self.stem = ConvNormAct(in_channels, channels, 3, norm_layer=norm_layer)
        self.downs = nn.ModuleList(ConvNormAct(channels, channels, 3, 2, norm_layer=norm_layer)
                                   for _ in range(num_levels - 1))
        self.smooth = ConvNormAct(channels, channels, 3, norm_layer=norm_layer)
        self.upsample = nn.ConvTranspose2d(channels, channels, 2, stride=2)
        self.predictor = nn.Conv2d(channels, num_classes, 1)
        for m in (self.upsample, self.predictor):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = [self.stem(x)]
        for down in self.downs:
            levels.append(down(levels[-1]))
        fused = levels[-1]
        for level in reversed(levels[:-1]):
            fused = level + F.interpolate(fused, size=level.shape[-2:], mode='bilinear', align_corners=False)
        return self.predictor(F.relu(self.upsample(self.smooth(fused))))
