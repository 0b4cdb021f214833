"""OpenMMLab side of the project: importing it registers every module into the
mmseg registries (configs load it with ``custom_imports``)."""
from .checkpoint_compat import register_safe_globals
from .datasets import BloodCellDataset
from .evaluation import NucleusMetric
from .hooks import ContourOverlayHook
from .models import EdgeGuidedEncoderDecoder, MSFFHead, R2UNet

register_safe_globals()

__all__ = ['BloodCellDataset', 'ContourOverlayHook', 'EdgeGuidedEncoderDecoder', 'MSFFHead', 'NucleusMetric',
           'R2UNet', 'register_safe_globals']
