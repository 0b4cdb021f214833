"""ALL-FABNET (spec 003) on MMSegmentation: DenseNet-169 skip encoder, position attention and the
Flipping Attention Block at the bottleneck, an optional atrous pyramid, and a U-Net-like decoder
with transposed convolutions ending in one sigmoid channel.

Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).

Only the glue lives here. The encoder is MMPretrain's ``DenseNet`` (built from its registry),
position attention is mmseg's DANet ``PAM``, the atrous pyramid mmseg's ``ASPPModule``, and the
Flipping Attention Block is :class:`hemaseg.blocks.FlippingAttentionBlock`.
"""
from __future__ import annotations

import os.path as osp
from typing import Literal, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hemaseg.blocks import FlippingAttentionBlock
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.da_head import PAM
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class DenseNetSkipEncoder(BaseModule):
    """MMPretrain's DenseNet returning the U-Net skip taps of spec 003 §2.2.

    ``DenseNet.forward`` returns each stage *after* its transition (already pooled: for
    DenseNet-169 at 256 px 128 ch @ 32x32, 256 @ 16, 640 @ 8, 1664 @ 8) and never the stem, so a
    decoder could not reach 128x128 or 64x64. This wrapper runs the same modules and taps the stem
    before its max-pool and every dense block before its transition::

        stem conv+norm+act   64 ch  @ H/2       denseblock1  256 @ H/4
        denseblock2         512 @ H/8           denseblock3 1280 @ H/16
        denseblock4 + norm5 1664 @ H/32

    Args:
        densenet: config of the encoder, e.g. ``dict(type='mmpretrain.DenseNet', arch='169')``;
            any ``out_indices`` in it is ignored. Its weights keep MMPretrain's names under
            ``densenet.``.
        pretrained: path of an MMPretrain DenseNet classification checkpoint (ImageNet weights,
            keys ``backbone.*``) to initialise the encoder from; ``None`` (default) trains from
            scratch. mmseg's ``EncoderDecoder(pretrained=...)`` passes it here, so
            ``--cfg-options model.pretrained=/path/densenet169.pth`` is enough.
        init_cfg: mmengine init config of the wrapper.
    """

    def __init__(self, densenet: dict, pretrained: str | None = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        densenet = dict(densenet)
        densenet.pop('out_indices', None)
        if pretrained is not None:
            if not osp.isfile(pretrained):
                raise FileNotFoundError(f'pretrained DenseNet checkpoint {pretrained} does not exist (nothing is '
                                        'downloaded here: give the path of a local MMPretrain checkpoint)')
            densenet['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')
        self.densenet = MODELS.build(densenet)
        for name in ('stem', 'stages', 'transitions'):
            if not hasattr(self.densenet, name):
                raise TypeError(f'{type(self.densenet).__name__} has no `{name}`: DenseNetSkipEncoder wraps '
                                "MMPretrain's DenseNet (type='mmpretrain.DenseNet')")
        if not isinstance(self.densenet.stem[-1], nn.MaxPool2d):
            raise TypeError('expected the DenseNet stem to end with its max-pool')

    @property
    def out_channels(self) -> list[int]:
        """Channels of the taps: the stem's, then each dense block's (the norm that follows it)."""
        return [self.densenet.init_channels, *(t[0].num_features for t in self.densenet.transitions)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        *stem, pool = self.densenet.stem  # not kept as attributes: the weights keep one name each
        for layer in stem:
            x = layer(x)
        outs = [x]
        x = pool(x)
        last = len(self.densenet.stages) - 1
        for i, (stage, transition) in enumerate(zip(self.densenet.stages, self.densenet.transitions)):
            x = stage(x)
            if i == last:
                x = transition(x)  # norm5 + act: no pooling
            outs.append(x)
            if i < last:
                x = transition(x)
        return outs


class PositionAttention(PAM):
    """Position attention, spec 003 Eqs. 2-3, on mmseg's DANet ``PAM``.

    Eq. 2 is DANet's position attention: the softmax at output position j runs over the
    positions i of ``F1 (key) . F2 (query)``; Eq. 3 adds ``theta_1 * sum_i P_ij F3_i`` (F3 = the
    value projection) to a residual. mmseg's PAM computes exactly that with theta_1 a learnable
    scalar initialised to 0 (the spec's reading of ambiguity 5) and the *input* F0 as the residual
    (DANet; ``residual='input'``). ``residual='key'`` is Eq. 3 as printed: the residual is F1, the
    key projection of the input, which then needs as many channels as the input
    (``channels=in_channels``, also as printed: "F1 and F2 are both matrices with dimensions C, H,
    and W"). That re-projection is the only code added to mmseg's module.
    """

    def __init__(self, in_channels: int, channels: int, residual: Literal['input', 'key'] = 'input'):
        if residual not in ('input', 'key'):
            raise ValueError(f"residual must be 'input' (DANet) or 'key' (Eq. 3 as printed), got {residual!r}")
        if residual == 'key' and channels != in_channels:
            raise ValueError(f"residual='key' adds F1 (the key projection) to a map of {in_channels} channels, so "
                             f'channels must equal in_channels, got {channels}')
        super().__init__(in_channels, channels)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual == 'input':
            return super().forward(x)
        attended = super(PAM, self).forward(x, x)  # the attention term of mmseg's PAM, before gamma + x
        return self.gamma(attended) + self.key_project(x)


@MODELS.register_module()
class FABNetHead(BaseDecodeHead):
    """ALL-FABNET's bottleneck attention and decoder (spec 003 §2.3-2.5), as an mmseg decode head.

    Data flow (the spec's skeleton, §2.5; all widths are ours: the paper gives none)::

        b  = ConvModule1x1(bottleneck -> channels)
        a  = cat(PAM(b), FAB(b)) -> ConvModule1x1(2 channels -> channels)   ('concat')
             or PAM(b) + FAB(b)                                               ('sum')
             PAM(b) alone with use_fab=False (Table III, "without FAB")
        a  = ASPP(a) (4 atrous branches, concat, 1x1) if aspp_dilations
        for each skip s from deep to shallow:
             a = ConvTranspose2d(k=2, s=2)(a); a = 2 x Conv3x3(cat(a, s))
        a  = ConvTranspose2d(k=2, s=2)(a) -> Conv3x3       back to the input size
        logits = conv_seg(a)        one channel, sigmoid + threshold (mmseg binary mode)

    Args:
        in_channels: encoder channels, shallow to deep (``DenseNetSkipEncoder.out_channels``).
        channels: bottleneck width after the 1x1 projection.
        decoder_channels: output channels of each decoder stage, deep to shallow (one per skip,
            plus the final full-resolution stage).
        pam_channels: key/query channels of PAM (``None``: ``channels // 8`` as DANet, or
            ``channels`` with ``pam_residual='key'``).
        pam_residual: ``'input'`` (DANet) or ``'key'`` (Eq. 3 as printed), see
            :class:`PositionAttention`.
        use_fab: False drops the Flipping Attention Block (Table III).
        fab: extra :class:`~hemaseg.blocks.FlippingAttentionBlock` arguments (``flip``,
            ``fusion``, ``unflip``, ``tied_memory``, ``expansion``).
        branch_fusion: ``'concat'`` + 1x1 conv (spec reading) or ``'sum'`` of PAM and FAB.
        aspp_dilations: dilations of the optional atrous pyramid ("four null space convolutional
            pooling pyramids", Conclusion only), e.g. ``(1, 6, 12, 18)``; ``()`` disables it.
    """

    def __init__(self, decoder_channels: Sequence[int] = (256, 128, 64, 32, 32), pam_channels: int | None = None,
                 pam_residual: Literal['input', 'key'] = 'input', use_fab: bool = True, fab: dict | None = None,
                 branch_fusion: Literal['concat', 'sum'] = 'concat', aspp_dilations: Sequence[int] = (),
                 **kwargs):
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(**kwargs)
        if branch_fusion not in ('concat', 'sum'):
            raise ValueError(f"branch_fusion must be 'concat' or 'sum', got {branch_fusion!r}")
        skips = list(self.in_channels[:-1])
        if len(decoder_channels) != len(skips) + 1:
            raise ValueError(f'decoder_channels needs {len(skips) + 1} entries (one per skip {skips} and the '
                             f'final stage), got {list(decoder_channels)}')
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        c = self.channels
        self.bottleneck = ConvModule(self.in_channels[-1], c, 1, **conv)
        if pam_channels is None:
            pam_channels = c if pam_residual == 'key' else max(c // 8, 1)
        self.pam = PositionAttention(c, pam_channels, residual=pam_residual)
        self.fab = FlippingAttentionBlock(c, **(fab or {})) if use_fab else None
        self.branch_fusion = branch_fusion
        self.fuse = (ConvModule(2 * c, c, 1, **conv) if use_fab and branch_fusion == 'concat' else None)
        if aspp_dilations:
            self.aspp = ASPPModule(tuple(aspp_dilations), c, c, **conv)
            self.aspp_fuse = ConvModule(len(aspp_dilations) * c, c, 1, **conv)
        else:
            self.aspp = self.aspp_fuse = None
        self.up = nn.ModuleList()
        self.decode = nn.ModuleList()
        prev = c
        for skip, out in zip([*reversed(skips), 0], decoder_channels):
            self.up.append(nn.ConvTranspose2d(prev, out, kernel_size=2, stride=2))
            layers = [ConvModule(out + skip, out, 3, padding=1, **conv)]
            if skip:
                layers.append(ConvModule(out, out, 3, padding=1, **conv))
            self.decode.append(nn.Sequential(*layers))
            prev = out
        # conv_seg of BaseDecodeHead reads `channels`: rebuild it on the last decoder width
        self.conv_seg = nn.Conv2d(prev, self.out_channels, kernel_size=1)

    def attend(self, bottleneck: torch.Tensor) -> torch.Tensor:
        """PAM and FAB on the projected bottleneck, fused, then the optional pyramid."""
        b = self.bottleneck(bottleneck)
        a = self.pam(b)
        if self.fab is not None:
            f = self.fab(b)
            a = self.fuse(torch.cat((a, f), dim=1)) if self.fuse is not None else a + f
        if self.aspp is not None:
            a = self.aspp_fuse(torch.cat(self.aspp(a), dim=1))
        return a

    def forward(self, inputs):
        feats = self._transform_inputs(inputs)
        x = self.attend(feats[-1])
        skips = list(reversed(feats[:-1]))
        for i, (up, decode) in enumerate(zip(self.up, self.decode)):
            x = up(x)
            if i < len(skips):
                skip = skips[i]
                if x.shape[-2:] != skip.shape[-2:]:
                    raise ValueError(f'decoder stage {i}: upsampled map {tuple(x.shape[-2:])} does not match the '
                                     f'skip {tuple(skip.shape[-2:])}; use inputs whose sides are multiples of 32')
                x = torch.cat((x, skip), dim=1)
            x = decode(x)
        return self.cls_seg(x)
