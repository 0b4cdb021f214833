"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)`` (torch >= 2.6).

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
the restricted unpickler, which rejects the non-tensor objects MMEngine itself stores in
every checkpoint (the message hub's ``HistoryBuffer`` and the numpy arrays and scalars
inside it). Rather than switching the safety off globally, allow-list exactly those
types, so a checkpoint carrying any other pickled object is still refused.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_globals() -> list:
    # numpy 2 moved the pickling helpers to numpy._core; numpy 1 has numpy.core.
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_, np.uint8)]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtypes]


def register_safe_globals() -> None:
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals([HistoryBuffer, *_numpy_globals()])
