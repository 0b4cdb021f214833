"""Ghost-ResNet-50 backbone of YOLACT-CIS (spec 001 §2.1, Table 2).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

A ResNet-50 (v1.5: stride on the 3x3 conv) whose bottleneck convolutions are
Ghost modules (GhostNet, Han et al. 2020): a primary conv makes ``ceil(n / S)``
"intrinsic" maps, a cheap depth-wise ``d x d`` conv (d = 3) derives the other
``n - n / S`` maps from them.

Which layers are Ghost modules (spec 001 §2.1, Appendix A #1)
---------------------------------------------------------------
The paper only says "the standard convolution in the residual module ... is
replaced with the Ghost module". Every combination of {stem, 1x1 reduce, 3x3,
1x1 expand, projection shortcut} x d in {1, 3, 5, 7} x (cheap-op BN or not)
x (FC counted or not) was counted against Table 2. Result:

* A Ghost module's parameters are ``A / S + D (S - 1) / S`` (A: the replaced
  conv, D: the depth-wise op), so (13.28 - 8.16) / (8.16 - "S=8") must be
  ``(1/4) / (1/8) = 2`` for the "8" row, but the table gives 5.12 / 1.72 = 2.98,
  which is ``(1/4) / (1/12)``, the ratio for **S = 6**. No Ghost-ResNet fits
  the "S=8" row (6.44 M); the text's "S are set to 2, 4 and 6" is right and
  the table's "8" is the typo. ``S`` is therefore any integer >= 2 here.
* With the FC counted, no configuration gets within 4 % of both S=2 and S=4;
  the Ghost rows are the detector backbone *without* FC ("Ghost-ResNet except
  fully connected layer", §2.1), while the ResNet row is torchvision's
  ResNet-50 with FC.

Decision: all three bottleneck convs (1x1, 3x3 with the stride, 1x1) are Ghost
modules with primary kernel = the replaced kernel, stride in the primary conv,
d = 3, BN (+ReLU except in the last module of a block) after both the primary
and the cheap op. The 7x7 stem and the 1x1 projection shortcuts stay plain.

Exact counts (conv + BN affine; input size does not matter) and multiply-accumulates
at 550x550 (hooks on conv/linear layers):

=====================  ==========  ==========  ========  ==========  ============
model                  params      Table 2     diff      GMACs       Table 2 FLOPs
=====================  ==========  ==========  ========  ==========  ============
ResNet-50, FC(1000)    25,557,032  25.56 M     -0.01 %   25.46       25.66
Ghost S=2, no FC       13,271,680  13.28 M     -0.06 %   14.46       14.69
Ghost S=4, no FC        8,153,504   8.16 M     -0.08 %    8.96        9.19
Ghost S=6, no FC        6,474,847   6.44 M     +0.54 %    7.18        5.6 ("8")
Ghost S=8, no FC        5,594,416   6.44 M     -13.1 %    6.21        5.6
=====================  ==========  ==========  ========  ==========  ============

The FLOPs of the ResNet, S=2 and S=4 rows are ours + 0.20-0.23 G each (a constant
offset, presumably non-conv ops counted by the authors' tool), which supports the
decision; the "8" row fits neither S=6 nor S=8 in FLOPs.

Adding the FC(2048 -> 1000) adds 2,049,000 to any Ghost count.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn as nn

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[..., nn.Module]


class ConvNormAct(nn.Sequential):
    """``k x k`` conv (padding ``k // 2``) -> optional norm -> optional activation.

    With ``norm_layer=None`` the conv keeps its bias (FPN-style necks have no norm);
    with a norm the bias would be redundant. ``act_layer`` must accept ``inplace``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 groups: int = 1, norm_layer: NormLayer | None = nn.BatchNorm2d,
                 act_layer: ActLayer | None = nn.ReLU):
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                                             groups=groups, bias=norm_layer is None)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if act_layer is not None:
            layers.append(act_layer(inplace=True))
        super().__init__(*layers)


class GhostModule(nn.Module):
    """Ghost module (GhostNet; spec 001 §2.1 [EXT-GHOST]) replacing a ``k x k`` conv.

    ``Y' = act(BN(Conv_kxk,stride(X)))`` with ``m = ceil(n / ratio)`` channels;
    ``Y'' = act(BN(DWConv_dxd(Y')))`` with ``m (ratio - 1)`` channels;
    output ``concat(Y', Y'')[:, :n]``. ``ratio`` is the paper's adjustment factor S.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 ratio: int = 4, dw_size: int = 3, norm_layer: NormLayer = nn.BatchNorm2d,
                 act_layer: ActLayer | None = nn.ReLU):
        super().__init__()
        if ratio < 2:
            raise ValueError(f'ratio must be >= 2 (use a plain conv for ratio 1), got {ratio}')
        self.out_channels = out_channels
        intrinsic = math.ceil(out_channels / ratio)
        self.primary_conv = ConvNormAct(in_channels, intrinsic, kernel_size, stride,
                                        norm_layer=norm_layer, act_layer=act_layer)
        self.cheap_operation = ConvNormAct(intrinsic, intrinsic * (ratio - 1), dw_size, groups=intrinsic,
                                           norm_layer=norm_layer, act_layer=act_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary_conv(x)
        ghosts = self.cheap_operation(intrinsic)
        # ceil() may make a few ghost maps too many when ratio does not divide out_channels.
        return torch.cat([intrinsic, ghosts], dim=1)[:, :self.out_channels]


def _conv_or_ghost(in_channels: int, out_channels: int, kernel_size: int, stride: int, ghost_ratio: int | None,
                   dw_size: int, norm_layer: NormLayer, act_layer: ActLayer | None) -> nn.Module:
    if ghost_ratio is None:
        return ConvNormAct(in_channels, out_channels, kernel_size, stride, norm_layer=norm_layer, act_layer=act_layer)
    return GhostModule(in_channels, out_channels, kernel_size, stride, ghost_ratio, dw_size, norm_layer, act_layer)


class GhostBottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3/stride -> 1x1, expansion 4) with Ghost-module convs (spec 001 §2.1).

    ``ghost_ratio=None`` gives the plain torchvision ResNet-50 bottleneck. The projection
    shortcut (first block of a stage) is always a plain 1x1 conv + norm, see the module docstring.
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, ghost_ratio: int | None = 4,
                 dw_size: int = 3, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = _conv_or_ghost(in_channels, width, 1, 1, ghost_ratio, dw_size, norm_layer, nn.ReLU)
        self.conv2 = _conv_or_ghost(width, width, 3, stride, ghost_ratio, dw_size, norm_layer, nn.ReLU)
        # No activation before the residual add (GhostNet also drops it in the last module).
        self.conv3 = _conv_or_ghost(width, out_channels, 1, 1, ghost_ratio, dw_size, norm_layer, None)
        self.downsample = (ConvNormAct(in_channels, out_channels, 1, stride, norm_layer=norm_layer, act_layer=None)
                           if stride != 1 or in_channels != out_channels else nn.Identity())
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv3(self.conv2(self.conv1(x))) + self.downsample(x))


class GhostResNet(nn.Module):
    """Ghost-ResNet (spec 001 §2.1): ResNet-50 layout with Ghost-module bottlenecks.

    Args:
        layers: blocks per stage (ResNet-50: 3, 4, 6, 3).
        ghost_ratio: adjustment factor S (paper: 4; Table 2: 2, 4, "8" = 6); ``None`` = plain ResNet.
        dw_size: kernel of the cheap depth-wise op.
        in_channels: image channels.
        num_classes: > 0 adds global-average-pool + FC and ``forward`` returns logits
            (only used to count Table 2's ResNet row); 0 = detection backbone.
        out_indices: stages returned by ``forward`` (0..3 = C2..C5, strides 4, 8, 16, 32).
        frozen_stages: -1 none, 0 the stem, i > 0 the stem and stages 1..i (no grad, kept in eval mode).
        norm_eval: keep every BatchNorm in eval mode while training (small detection batches).
        norm_layer: normalisation constructor, e.g. ``nn.BatchNorm2d`` or a FrozenBN/GN factory.

    ``forward`` returns a tuple of feature maps ordered as ``out_indices``; ``out_channels``
    and ``out_strides`` describe them.
    """

    widths = (64, 128, 256, 512)

    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), ghost_ratio: int | None = 4, dw_size: int = 3,
                 in_channels: int = 3, num_classes: int = 0, out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1, norm_eval: bool = False, norm_layer: NormLayer = nn.BatchNorm2d):
        super().__init__()
        if len(layers) != len(self.widths):
            raise ValueError(f'expected {len(self.widths)} stages, got {len(layers)}')
        if not out_indices or any(not 0 <= i < len(layers) for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of 0..{len(layers) - 1}, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stem = nn.Sequential(ConvNormAct(in_channels, 64, 7, 2, norm_layer=norm_layer),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        channels = 64
        self.stages = nn.ModuleList()
        for i, (width, depth) in enumerate(zip(self.widths, layers)):
            blocks = []
            for b in range(depth):
                stride = 2 if i > 0 and b == 0 else 1
                blocks.append(GhostBottleneck(channels, width, stride, ghost_ratio, dw_size, norm_layer))
                channels = width * GhostBottleneck.expansion
            self.stages.append(nn.Sequential(*blocks))
        self.out_channels = [self.widths[i] * GhostBottleneck.expansion for i in self.out_indices]
        self.out_strides = [4 * 2 ** i for i in self.out_indices]
        self.fc = nn.Linear(channels, num_classes) if num_classes > 0 else None

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        self._freeze_stages()

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem, *self.stages[:self.frozen_stages]]

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for p in module.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> GhostResNet:
        super().train(mode)
        if mode:
            # Re-applied on every train() call because nn.Module.train() would undo it.
            for module in self._frozen_modules():
                module.eval()
            if self.norm_eval:
                for m in self.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
        return self

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All stage outputs C2..C5."""
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...] | torch.Tensor:
        feats = self.forward_stages(x)
        if self.fc is not None:
            return self.fc(feats[-1].mean(dim=(2, 3)))
        return tuple(feats[i] for i in self.out_indices)


def ghost_resnet50(ghost_ratio: int = 4, **kwargs) -> GhostResNet:
    """Ghost-ResNet-50 of YOLACT-CIS (S = 4 in the paper)."""
    return GhostResNet((3, 4, 6, 3), ghost_ratio=ghost_ratio, **kwargs)


def resnet50(**kwargs) -> GhostResNet:
    """Plain ResNet-50 (Table 2 "ResNet" row: 25,557,032 parameters with ``num_classes=1000``)."""
    return GhostResNet((3, 4, 6, 3), ghost_ratio=None, **kwargs)
