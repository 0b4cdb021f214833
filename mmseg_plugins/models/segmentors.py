"""Segmentor that hands the input image to the decode head (spec 000 A9).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
"""
from __future__ import annotations

from typing import List

from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS


@MODELS.register_module()
class EdgeGuidedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` whose feature list ends with the network input as RGB in [0, 1].

    MSFF-SegNeXt computes its Sobel edge map from the image the network sees, but an
    mmseg decode head only receives backbone features. Appending the image here (rather
    than wrapping the backbone) keeps ``in_index`` meaning "backbone stage", lets every
    inference mode (whole, slide, flip TTA) pass the right crop, and keeps the image on
    the input's device under DDP and AMP. The data preprocessor normalised it, so it is
    mapped back to [0, 1] RGB with the preprocessor's own mean, std and channel order:
    the authors computed edges on un-normalised [0, 1] images (spec 000 A9).
    """

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        feats = list(super().extract_feat(inputs))
        return feats + [self._image01(inputs)]

    def _image01(self, inputs: Tensor) -> Tensor:
        pre = self.data_preprocessor
        img = inputs
        if getattr(pre, '_enable_normalize', False):
            img = img * pre.std + pre.mean
        # After the preprocessor, channels are RGB exactly when it converted from BGR
        # (mmcv loads BGR); otherwise they are still BGR and need flipping for luma.
        if not getattr(pre, 'channel_conversion', False):
            img = img.flip(1)
        return (img / 255.).clamp(0., 1.)
