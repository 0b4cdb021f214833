from .fabnet import DenseNetSkipEncoder, FABNetHead
from .monai_unet import MonaiUNet, PassThroughHead
from .msff_head import MSFFHead
from .nucleus_ensemble import EnsembleNucleusSegmentor, HandcraftedNucleusSegmentor
from .r2unet import R2UNet
from .segmentors import EdgeGuidedEncoderDecoder

__all__ = ['DenseNetSkipEncoder', 'EdgeGuidedEncoderDecoder', 'EnsembleNucleusSegmentor', 'FABNetHead',
           'HandcraftedNucleusSegmentor', 'MSFFHead', 'MonaiUNet', 'PassThroughHead', 'R2UNet']
