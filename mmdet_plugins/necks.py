"""The two papers' necks as mmdet necks (registration and argument glue only).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

* ``DFFN``: YOLACT-CIS's dual-stream feature fusion network with one DDAM per level
  (spec 001 §2.2-2.3), :class:`hemaseg.blocks.dffn.DualStreamFeatureFusion`.
* ``BUCASAFPN``: R-Mask R-CNN's FPN + bottom-up path with channel -> spatial attention
  (spec 004 §2.2.2-2.2.6), :class:`hemaseg.blocks.attention_fpn.AttentionFPN`.

Both classes *are* the hemaseg modules (identical state-dict keys) with mmengine's
``BaseModule`` mixed in for ``init_cfg``; ``forward`` takes the backbone's tuple and
returns a tuple of 256-channel maps, finest level first, as every mmdet neck does.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from hemaseg.blocks.attention_fpn import AttentionFPN as _AttentionFPN
from hemaseg.blocks.dffn import DualStreamFeatureFusion as _DualStreamFeatureFusion

from .backbones import norm_layer_from_cfg


@MODELS.register_module()
class DFFN(_DualStreamFeatureFusion, BaseModule):
    """Dual-stream feature fusion network + DDAM (YOLACT-CIS neck).

    Args:
        in_channels: backbone channels, finest first (Ghost-ResNet-50 C3..C5: 512, 1024, 2048).
        out_channels: channels of every output level (256).
        num_outs: number of output levels (5: N3..N7); the levels beyond ``len(in_channels)``
            are YOLACT's stride-2 extra convs.
        bottom_up: PANet-style bottom-up path (``False`` = YOLACT's FPN, Table 4 "FPN").
        attention: one DDAM per output level (``False``: Table 5 rows 1-2).
        attention_kwargs: extra :class:`hemaseg.blocks.ddam.DualDomainAttention` arguments
            (``freqs``, ``dct_norm``, ...; Table 3).
        upsample_mode: top-down interpolation mode ('bilinear', as YOLACT).
        norm_cfg: optional mmcv norm config after each conv (``None``: conv bias, as YOLACT).
        init_cfg: mmengine init config (``None``: PyTorch default init).

    ``forward(inputs)`` returns ``(N3, ..., N7)`` after DDAM. :meth:`forward_with_prototype_input`
    also returns N3 *before* DDAM, the protonet input of spec 001 §2.2 item 5, which the
    ``YOLACTCIS`` detector feeds to the mask head.
    """

    def __init__(self, in_channels: Sequence[int] = (512, 1024, 2048), out_channels: int = 256, num_outs: int = 5,
                 bottom_up: bool = True, attention: bool = True, attention_kwargs: dict | None = None,
                 upsample_mode: str = 'bilinear', norm_cfg: dict | None = None,
                 init_cfg: dict | list | None = None):
        if num_outs < len(in_channels):
            raise ValueError(f'num_outs ({num_outs}) must be >= the number of inputs ({len(in_channels)})')
        super().__init__(tuple(in_channels), out_channels, bottom_up=bottom_up,
                         num_extra_levels=num_outs - len(in_channels), attention=attention,
                         attention_kwargs=attention_kwargs, upsample_mode=upsample_mode,
                         norm_layer=norm_layer_from_cfg(norm_cfg))
        self.init_cfg = copy.deepcopy(init_cfg)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels

    def forward_with_prototype_input(
            self, inputs: Sequence[torch.Tensor]) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor]]:
        """``((N3..N7 after DDAM), (N3 before DDAM,))``: prediction-head and protonet inputs."""
        fused = self.fuse(inputs)
        return self.attend(fused), (fused[0],)


@MODELS.register_module()
class BUCASAFPN(_AttentionFPN, BaseModule):
    """FPN + bottom-up path with attention (R-Mask R-CNN neck; final model "B-U-CA-SA").

    Args:
        in_channels: backbone channels C2..C5 (ResNet-50: 256, 512, 1024, 2048).
        out_channels: channels of every level (256).
        num_outs: ``len(in_channels) + 1`` (N2..N6, N6 = max-pool of N5, the RPN-only level of
            spec 004 §2.2.7) or ``len(in_channels)`` (no extra level).
        top_down_attention: attention after each top-down level (FPN-AM): None, 'ca', 'sa',
            'ca-sa' or 'sa-ca'.
        bottom_up: bottom-up path (``False``: plain FPN with optional FPN-AM).
        bottom_up_attention: attention after each bottom-up sum N3..N5 (final model: 'ca-sa').
        literal: the paper's literal softmax attention, which shrinks the features by ~1/C and
            ~1/(HW) (spec 004 A2/A3); default ``False`` = the mean-1 rescaled deviation.
        output_convs: the usual FPN 3x3 conv on every merged top-down map.
        upsample_mode: top-down interpolation mode ('nearest').
        norm_cfg: optional mmcv norm config after each conv (``None``: conv bias).
        init_cfg: mmengine init config (``None``: PyTorch default init).

    ``forward(inputs)`` returns ``(N2, N3, N4, N5, N6)`` at strides 4..64: the RPN uses all
    five, the RoI extractors the first four (``featmap_strides=[4, 8, 16, 32]``).
    """

    def __init__(self, in_channels: Sequence[int] = (256, 512, 1024, 2048), out_channels: int = 256,
                 num_outs: int = 5, top_down_attention: str | None = None, bottom_up: bool = True,
                 bottom_up_attention: str | None = 'ca-sa', literal: bool = False, output_convs: bool = True,
                 upsample_mode: str = 'nearest', norm_cfg: dict | None = None,
                 init_cfg: dict | list | None = None):
        if num_outs not in (len(in_channels), len(in_channels) + 1):
            raise ValueError(f'num_outs must be {len(in_channels)} or {len(in_channels) + 1}, got {num_outs}')
        super().__init__(tuple(in_channels), out_channels, top_down_attention=top_down_attention,
                         bottom_up=bottom_up, bottom_up_attention=bottom_up_attention, literal=literal,
                         output_convs=output_convs, extra_level=num_outs > len(in_channels),
                         upsample_mode=upsample_mode, norm_layer=norm_layer_from_cfg(norm_cfg))
        self.init_cfg = copy.deepcopy(init_cfg)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
