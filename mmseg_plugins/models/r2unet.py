"""R2U-Net as an mmseg backbone (a baseline of spec 000 Tables 1 and 3; not in mmseg).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
"""
from hemaseg.blocks.r2unet import R2UNet as _R2UNet
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class R2UNet(BaseModule):
    """Returns ``[full-resolution decoder feature]``; pair it with an ``FCNHead`` with
    ``num_convs=0`` so the classifier is the single 1x1 conv of the original network."""

    def __init__(self, in_channels=3, base_channels=64, num_stages=5, t=2, init_cfg=None):
        super().__init__(init_cfg)
        self.net = _R2UNet(in_channels, base_channels, num_stages, t)

    def forward(self, x):
        return [self.net(x)]
