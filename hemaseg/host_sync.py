"""Find the operations of a training step that make the host wait for the GPU.

On a GPU the Python thread only queues kernels; it stalls until the GPU has caught up whenever it
needs a value or a shape that the GPU computes: ``tensor.item()``, ``bool(tensor)`` / ``if
tensor:``, ``tensor.tolist()``, boolean-mask indexing and ``nonzero`` (the output's size is
data-dependent), ``torch.unique`` and the like. With small kernels (256-px crops, batch 8 on an
H200) the CPU is the bottleneck, and every such stall leaves the GPU idle while Python catches up.

:func:`count_host_syncs` records those operations at the ATen dispatcher while ``fn`` runs, so it
finds them on the CPU too (where they cost nothing, but are the same calls), and names the Python
line that issued each one.
"""
from __future__ import annotations

import traceback
from collections import Counter
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# ATen operations whose result (a Python scalar, or an output size) must come back to the host.
SYNCING_OPS = frozenset({
    'aten._local_scalar_dense',  # .item(), float(t), bool(t), .tolist() element by element
    'aten.is_nonzero',  # bool(t) / if t:
    'aten.nonzero', 'aten.nonzero_static', 'aten.masked_select', 'aten._unique2', 'aten.unique_consecutive',
    'aten.unique_dim', 'aten.repeat_interleave',  # data-dependent output sizes
    'aten.equal',  # torch.equal returns a Python bool
})


# Indexing with a boolean mask: the kernel turns the mask into indices (nonzero) internally.
BOOL_INDEXING_OPS = frozenset({'aten.index', 'aten.index_put', 'aten.index_put_', 'aten._index_put_impl_'})


def _indices(args, kwargs) -> list:
    indices = args[1] if len(args) > 1 else (kwargs or {}).get('indices', [])
    return [i for i in (indices if isinstance(indices, (list, tuple)) else [indices]) if i is not None]


class _Recorder(TorchDispatchMode):
    def __init__(self, skip: tuple):
        super().__init__()
        self.skip = skip
        self.calls: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket)
        if name in BOOL_INDEXING_OPS and any(isinstance(i, torch.Tensor) and i.dtype == torch.bool
                                             for i in _indices(args, kwargs)):
            name = f'{name} (boolean mask)'  # runs nonzero inside the kernel, below this mode
        if name in SYNCING_OPS or name.endswith('(boolean mask)'):
            where = next((f'{f.filename}:{f.lineno} ({f.name})' for f in reversed(traceback.extract_stack()[:-1])
                          if 'torch/' not in f.filename and not f.filename.endswith(self.skip)), '?')
            self.calls[(name, where)] += 1
        return func(*args, **(kwargs or {}))


def count_host_syncs(fn: Callable[[], object], skip: tuple = ('host_sync.py',)) -> Counter:
    """``Counter({(aten op, 'file:line (function)'): calls})`` of the host-syncing operations
    (:data:`SYNCING_OPS`) that ``fn()`` ran, each attributed to the innermost frame outside torch."""
    recorder = _Recorder(skip)
    with recorder:
        fn()
    return recorder.calls
