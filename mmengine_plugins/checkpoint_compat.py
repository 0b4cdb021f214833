"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)`` (torch >= 2.6).

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
the restricted unpickler, which rejects the non-tensor objects MMEngine stores in every
checkpoint: the message hub's ``HistoryBuffer`` objects, the numpy arrays and scalars in
them, and each buffer's copy of the class-wide statistics registry, whose built-in
entries are pickled as ``getattr(HistoryBuffer, 'min')``. Rather than switching the
safety off, we

* allow-list exactly the data types (``HistoryBuffer`` and numpy's array/scalar/dtype
  reconstructors), and
* stop pickling the four built-in statistics methods, which ``HistoryBuffer.__setstate__``
  re-registers on load anyway. Allowing ``getattr`` instead would let a checkpoint reach
  arbitrary attributes of the allowed classes.

A checkpoint carrying any other pickled object is still refused.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self) -> dict:
    state = dict(self.__dict__)
    # Custom methods registered by users still travel with the checkpoint, as in MMEngine.
    state['statistics_methods'] = {
        k: v for k, v in self._statistics_methods.items() if k not in _BUILTIN_STATISTICS}
    return state


def _numpy_globals() -> list:
    # numpy 2 moved the pickling helpers to numpy._core; numpy 1 has numpy.core.
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_, np.uint8)]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtypes]


def register_safe_globals() -> None:
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals([HistoryBuffer, *_numpy_globals()])
