from .msff_head import MSFFHead
from .r2unet import R2UNet
from .segmentors import EdgeGuidedEncoderDecoder

__all__ = ['EdgeGuidedEncoderDecoder', 'MSFFHead', 'R2UNet']
