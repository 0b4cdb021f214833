"""MSFF-SegNeXt decode head (spec 000 §2.0, §2.3-2.6) as an mmseg ``LightHamHead``.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
"""
from __future__ import annotations

import torch
from mmcv.cnn import ConvModule

from hemaseg.blocks import EdgeGuidedAttention, edge_map
from mmseg.models.decode_heads.ham_head import Hamburger, LightHamHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


@MODELS.register_module()
class MSFFHead(LightHamHead):
    """Hamburger -> Fea -> Edge-Guided Attention -> Fea -> Hamburger -> classifier.

    Data flow (spec 000 §2.0)::

        X  = squeeze(cat(resize(s2, s3, s4)))            480 -> 256
        D1 = align(Hamburger(X))                         first Hamburger, Fea block 1
        E  = edge_operator(gray(img))                    fixed, no parameters
        G  = EGA(x=resize(s4), pred=D1, edge=E)
        Y  = squeeze1(cat(D1, G))                        Fea block 2, 512 -> 256
        Y  = align(Hamburger(Y))  if num_hamburgers == 2 else align(Y)
        logits = cls_seg(Y)

    Switches reproduce every row of Table 6 (spec 000 §7.2):

    * ``edge_operator``: ``'sobel'`` (MSFF-SegNeXt), ``'laplacian'`` ("La") or ``None``
      (no EGA; with one Hamburger the head is exactly mmseg's ``LightHamHead``: same
      modules, same state-dict keys, same output).
    * ``num_hamburgers``: 1 ("One") or 2 ("Multi").
    * ``share_hamburger``: the second Hamburger (and its Fea/align block) reuses the
      first one's weights, as the authors' code does (A4); ``False`` builds separate ones.

    The segmentor must be ``EdgeGuidedEncoderDecoder``, which appends the input image
    (RGB, [0, 1]) as the last element of ``inputs``.
    """

    def __init__(self, edge_operator: str | None = 'sobel', num_hamburgers: int = 2,
                 share_hamburger: bool = True, cbam_reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        if num_hamburgers not in (1, 2):
            raise ValueError(f'num_hamburgers must be 1 or 2, got {num_hamburgers}')
        if edge_operator is None and num_hamburgers == 2:
            raise ValueError('num_hamburgers=2 needs the EGA between the Hamburgers; the paper has no '
                             'two-Hamburger row without EGA (Table 6). Set edge_operator.')
        self.edge_operator = edge_operator
        self.num_hamburgers = num_hamburgers
        self.share_hamburger = share_hamburger
        if edge_operator is None:
            return
        if self.in_channels[-1] != self.channels:
            raise ValueError(f'EGA multiplies the last selected stage ({self.in_channels[-1]} channels) with '
                             f'decoder features ({self.channels} channels); they must be equal '
                             '(MSCAN-T: 256 and 256, spec 000 A8)')
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.ega = EdgeGuidedAttention(self.channels, cbam_reduction)
        self.squeeze1 = ConvModule(2 * self.channels, self.ham_channels, 1, **conv_kwargs)
        if num_hamburgers == 2 and not share_hamburger:
            self.hamburger2 = Hamburger(self.ham_channels, kwargs.get('ham_kwargs', {}), norm_cfg=self.norm_cfg)
            self.align2 = ConvModule(self.ham_channels, self.channels, 1, **conv_kwargs)

    def forward(self, inputs):
        if self.edge_operator is None:
            return super().forward(inputs)
        img = inputs[-1]
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError('MSFFHead with an edge operator needs the input image as the last element of its '
                             f'inputs, got a tensor of shape {tuple(img.shape)}; use '
                             "type='EdgeGuidedEncoderDecoder' as the segmentor")
        feats = self._transform_inputs(inputs)
        feats = [resize(f, size=feats[0].shape[2:], mode='bilinear', align_corners=self.align_corners)
                 for f in feats]
        d1 = self.align(self.hamburger(self.squeeze(torch.cat(feats, dim=1))))
        g = self.ega(feats[-1], d1, edge_map(img, self.edge_operator))
        y = self.squeeze1(torch.cat([d1, g], dim=1))
        if self.num_hamburgers == 1:
            y = self.align(y)
        elif self.share_hamburger:
            y = self.align(self.hamburger(y))
        else:
            y = self.align2(self.hamburger2(y))
        return self.cls_seg(y)
