"""The explainable-CAD U-Net (spec 002 §2.2) in an mmseg ``EncoderDecoder``: MONAI's own UNet.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

The paper describes its network in words that match the constructor of
``monai.networks.nets.UNet`` (spec 002 §2.2 [INFERENCE]): 2-D, 3 input channels, five levels of
32 -> 512 channels, strided-convolution downsampling with strides 1 then 2, instance
normalisation, dropout and Mish. Rather than rewriting that network, the backbone below builds
MONAI's class with the config's arguments, so the layers, their order (MONAI's ``'NDA'``:
norm, dropout, activation) and the final plain 3x3 transposed convolution are MONAI's.

Design (two thin pieces, so the rest of mmseg (data preprocessor, whole/slide inference,
metrics, hooks, ``tools/``) works unchanged):

* :class:`MonaiUNet` (backbone) returns ``[logits]``: MONAI's UNet already ends in its
  classifier (``out_channels`` = number of classes).
* :class:`PassThroughHead` (decode head) returns that tensor unchanged (no extra conv, no
  dropout: it has no parameters) and applies ``loss_decode`` through ``BaseDecodeHead``.

Ambiguity #2 (output: 1 channel + sigmoid, or 2 channels + softmax; spec 002 §2.7): **2
channels + softmax**, prediction = argmax. The project's label maps, ``NucleusMetric`` and
pipelines use class indices 0 (background) / 1 (nucleus), the Unified Focal Loss's printed
symmetric terms sum over both classes' probabilities (p0, p1), and argmax of a 2-class softmax
is the same decision as a 0.5 threshold on the nucleus probability.

Input size: MONAI's UNet concatenates skips without cropping, so with strides (1, 2, 2, 2) the
input height and width must be multiples of 8; the configs pad with the data preprocessor's
``size_divisor`` (and crop the padding off the prediction).
"""
from __future__ import annotations

from typing import List, Sequence

from mmengine.model import BaseModule
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class MonaiUNet(BaseModule):
    """``monai.networks.nets.UNet(**arguments)`` as an mmseg backbone returning ``[logits]``.

    Every argument is MONAI's; defaults are the paper's network (spec 002 §2.2) with two
    output classes. ``dropout`` is per dataset (Table A2) and set by the configs. Weights keep
    MONAI's (PyTorch's default) initialisation: the paper trains from scratch.
    """

    def __init__(self, spatial_dims: int = 2, in_channels: int = 3, out_channels: int = 2,
                 channels: Sequence[int] = (32, 64, 128, 256, 512), strides: Sequence[int] = (1, 2, 2, 2),
                 norm='INSTANCE', act='MISH', dropout: float = 0.0, init_cfg=None, **unet_kwargs):
        super().__init__(init_cfg)
        try:
            from monai.networks.nets import UNet
        except ImportError as e:  # optional for the rest of mmseg_plugins
            raise ImportError('MonaiUNet needs MONAI (pip install monai; requirements/openmmlab.txt pins it)') from e
        self.unet = UNet(spatial_dims=spatial_dims, in_channels=in_channels, out_channels=out_channels,
                         channels=tuple(channels), strides=tuple(strides), norm=norm, act=act, dropout=dropout,
                         **unet_kwargs)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> List[Tensor]:
        return [self.unet(x)]


@MODELS.register_module()
class PassThroughHead(BaseDecodeHead):
    """Decode head whose ``forward`` returns the backbone output ``in_index`` as the logits.

    For backbones that end in their own classifier (:class:`MonaiUNet`). It has no
    parameters: ``BaseDecodeHead``'s 1x1 ``conv_seg`` is removed and dropout is off. Losses
    (``loss_decode``), resizing to the label size, ``ignore_index`` and prediction are
    ``BaseDecodeHead``'s. ``num_classes`` must equal the backbone's output channels
    (checked at the first forward, with the config key to change).
    """

    def __init__(self, num_classes: int, in_index: int = 0, **kwargs):
        for key in ('in_channels', 'channels', 'dropout_ratio', 'out_channels', 'input_transform'):
            if key in kwargs:
                raise TypeError(f'PassThroughHead has no `{key}`: it forwards the backbone logits unchanged')
        kwargs.setdefault('init_cfg', None)  # nothing to initialise (the default targets conv_seg)
        super().__init__(in_channels=num_classes, channels=num_classes, num_classes=num_classes,
                         out_channels=num_classes, dropout_ratio=0.0, in_index=in_index, **kwargs)
        del self.conv_seg

    def forward(self, inputs: List[Tensor]) -> Tensor:
        logits = self._transform_inputs(inputs)
        if logits.shape[1] != self.out_channels:
            raise ValueError(f'PassThroughHead: the backbone output {self.in_index} has {logits.shape[1]} channels '
                             f'but decode_head.num_classes={self.num_classes}; set model.backbone.out_channels '
                             f'to {self.num_classes}')
        return logits
