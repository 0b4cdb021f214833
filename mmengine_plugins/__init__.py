"""MMEngine-level glue shared by every OpenMMLab side of the project (mmseg_plugins,
mmdet_plugins, mmpretrain_plugins): importing it makes MMEngine checkpoints load under torch's
``weights_only=True`` default (see :mod:`mmengine_plugins.checkpoint_compat`) and registers the
hooks of the GPU options (:mod:`mmengine_plugins.hooks`: channels-last, time-bounded probe). It
imports MMEngine only, no downstream library."""
from . import hooks  # noqa: F401  (registration)
from .checkpoint_compat import register_safe_globals

register_safe_globals()

__all__ = ['register_safe_globals']
