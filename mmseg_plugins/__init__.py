"""OpenMMLab side of the project: importing it registers every module into the mmseg
registries and, where mmdet is installed, the detection parts into mmdet's (configs load
it with ``custom_imports``)."""
import importlib.util

from .checkpoint_compat import register_safe_globals
from .datasets import BloodCellDataset
from .evaluation import NucleusMetric
from .hooks import ContourOverlayHook
from .models import EdgeGuidedEncoderDecoder, MSFFHead, R2UNet

register_safe_globals()
if importlib.util.find_spec('mmdet') is not None:
    from . import det  # noqa: F401  (mmdet registrations: GhostResNet, DFFN, BUCASAFPN, YOLACTCIS)

__all__ = ['BloodCellDataset', 'ContourOverlayHook', 'EdgeGuidedEncoderDecoder', 'MSFFHead', 'NucleusMetric',
           'R2UNet', 'register_safe_globals']
