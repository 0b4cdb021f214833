"""MMEngine-level glue shared by every OpenMMLab side of the project (mmseg_plugins,
mmdet_plugins): importing it makes MMEngine checkpoints load under torch's
``weights_only=True`` default (see :mod:`mmengine_plugins.checkpoint_compat`). It imports
MMEngine only, no downstream library."""
from .checkpoint_compat import register_safe_globals

register_safe_globals()

__all__ = ['register_safe_globals']
