"""One model ready to time (:class:`Bench`), what it is fed (synthetic smear images normalised as
its data preprocessor would), the segmentation loss of the training step, and the static metrics
(parameters, GMACs, peak memory) of a built model. Plain PyTorch: the framework adapters build the
models and hand them to :func:`seg_bench` / :class:`Bench`."""
from __future__ import annotations

import copy
from typing import Callable, Tuple

class Bench:
    """One model ready to time: ``infer()`` (call in eval mode under ``no_grad``) and ``step()``
    (train mode: forward, loss, backward, optimizer step). ``reset()`` restores the weights the
    model was built with and makes a fresh optimizer.

    ``model`` None: nothing learnable (the handcrafted algorithm). ``loss`` None: no training step
    (inference-only models); then ``step`` is None and the training columns of the table show
    ``-``. ``note`` is printed under the table (what the row measures, why a cell is ``-``).
    """

    def __init__(self, model, infer: Callable, loss: Callable | None = None,
                 make_optimizer: Callable | None = None, note: str = ''):
        if loss is not None and (model is None or make_optimizer is None):
            raise ValueError('a Bench with a training loss needs the model and make_optimizer')
        self.model = model
        self.infer = infer
        self.note = note
        self._loss = loss
        self._make_optimizer = make_optimizer
        self._initial = copy.deepcopy(model.state_dict()) if model is not None else None
        self.optimizer = make_optimizer(model.parameters()) if loss is not None else None
        self.step: Callable[[], None] | None = self._step if loss is not None else None

    @property
    def num_params(self) -> int:
        return 0 if self.model is None else sum(p.numel() for p in self.model.parameters())

    def set_training(self, training: bool) -> None:
        if self.model is not None:
            self.model.train(training)

    def reset(self) -> None:
        if self.model is not None:
            self.model.load_state_dict(self._initial)
        if self.step is not None:
            self.optimizer = self._make_optimizer(self.model.parameters())

    def _step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self._loss().backward()
        self.optimizer.step()


def synthetic_smear(batch: int, size: int, seed: int = 0):
    """``(batch, size, size, 3)`` uint8 RGB stand-ins for stained blood-smear crops: a pale background,
    one pink cell with a darker purple nucleus (ellipses at slightly random centres) and Gaussian
    noise, so the handcrafted algorithm does its usual work (Otsu finds the nucleus, area opening
    removes noise blobs) and the networks see image-like statistics."""
    import numpy as np
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    images = np.empty((batch, size, size, 3), np.uint8)
    for i in range(batch):
        cy, cx = 0.5 + rng.uniform(-0.08, 0.08, 2)
        img = np.empty((size, size, 3), np.float64)
        img[:] = (235, 215, 222)
        img[((yy - cy) / 0.36) ** 2 + ((xx - cx) / 0.32) ** 2 <= 1] = (214, 160, 188)
        img[((yy - cy) / 0.22) ** 2 + ((xx - cx) / 0.17) ** 2 <= 1] = (112, 52, 150)
        images[i] = np.clip(np.rint(img + rng.normal(0, 8, img.shape)), 0, 255).astype(np.uint8)
    return images


def network_input(images, preprocessor, device: str):
    """uint8 RGB ``(N, H, W, 3)`` -> float ``(N, 3, H, W)`` as the model's data preprocessor outputs it
    after its BGR->RGB conversion: ``(x - mean) / std`` with its mean / std (RGB order), when it
    normalises at all."""
    import torch
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().to(device)
    if getattr(preprocessor, '_enable_normalize', False):
        x = (x - preprocessor.mean.to(device)) / preprocessor.std.to(device)
    return x.contiguous()


def seg_loss(logits, target):
    """The benchmark's training loss of a segmentation output, chosen by its channel count: one
    channel = sigmoid logits (mmseg's binary mode, e.g. ALL-FABNET): BCE-with-logits against the
    0/1 target; C >= 2 channels: cross-entropy. (Not each model's own ``loss_decode``: the table
    compares the networks' cost, with one simple loss for all.)"""
    import torch.nn.functional as F
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], target.to(logits.dtype))
    return F.cross_entropy(logits, target)


def adamw(params):
    """The optimizer of every benchmarked training step except the detectors' (AdamW, lr 1e-4)."""
    import torch
    return torch.optim.AdamW(params, lr=1e-4)


def seg_bench(model, x, target, infer: Callable | None = None, note: str = '') -> Bench:
    """A segmentor's Bench: ``infer`` (default: ``encode_decode``, logits at the input size) and a
    training step of ``encode_decode`` + :func:`seg_loss` + AdamW. ``model`` needs only
    ``encode_decode(inputs, metas)`` (tests use a tiny fake one)."""
    size = tuple(x.shape[2:])
    metas = [dict(img_shape=size, ori_shape=size)] * x.shape[0]

    def forward():
        return model.encode_decode(x, metas)

    return Bench(model, infer or forward, lambda: seg_loss(forward(), target), adamw, note=note)


def check_size_divisor(name: str, config: str, model, size: int) -> None:
    """ValueError naming the model when ``size`` is not a multiple of its data preprocessor's
    ``size_divisor`` (the padding would change the input the model is timed on)."""
    divisor = getattr(getattr(model, 'data_preprocessor', None), 'size_divisor', None)
    if divisor and size % divisor:
        raise ValueError(f'{name} ({config}): --size {size} is not a multiple of {divisor}, the size_divisor its '
                         f'data preprocessor pads every input to; use e.g. --size {size // divisor * divisor or divisor}')



def handcrafted_bench(params, images, config_name: str) -> Bench:
    """Algorithm 1 (:func:`hemaseg.handcrafted.segment_nucleus_handcrafted`) with ``params`` on each
    uint8 RGB image of ``images``: nothing learnable, no training step, no GMACs."""
    from hemaseg.handcrafted import segment_nucleus_handcrafted
    return Bench(None, lambda: [segment_nucleus_handcrafted(img, params) for img in images],
                 note='Algorithm 1 (hemaseg.handcrafted.segment_nucleus_handcrafted, Table A1 parameters of '
                      f'{config_name}) on each uint8 RGB image: no parameters, no training step; its '
                      'OpenCV/SciPy operations are not counted as GMACs')


Builder = Callable[[], Tuple[Bench, Callable[[], float] | None]]


def static_metrics(build: Builder, device: str) -> dict:
    """Runs inside the per-model child process: parameters, MACs (None where not counted), peak
    memory and the model's note of the model ``build()`` returns (with its MAC counter). Peak memory
    is taken after one inference and two training steps (process RSS on CPU, CUDA allocations of
    the second step); for a model without a training step, after two inferences (CUDA: of the
    second)."""
    import resource

    import torch
    bench, macs = build()
    flops = macs() if macs is not None else None

    def infer():
        with torch.no_grad():
            bench.infer()

    bench.set_training(False)
    infer()
    measured = bench.step if bench.step is not None else infer
    if bench.step is not None:
        bench.set_training(True)
        bench.step()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    measured()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(params=bench.num_params, flops=flops, peak_mb=peak_mb, note=bench.note)


def static_metrics_inline(build: Builder, device: str) -> dict:
    """:func:`static_metrics` in this process, one model at a time (seconds per model: no process
    start, no import, no CUDA initialisation per model). Peak memory on CUDA is the allocator's peak
    above what was allocated before the model was built (its weights, gradients, optimizer state
    and the activations of a training step); on the CPU a process's RSS cannot be split among
    models, so it is left out (``--static process`` measures it)."""
    import gc

    import torch
    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
    out = static_metrics(build, device)  # peak of its second training step (or inference)
    if cuda:
        out['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
        gc.collect()
        torch.cuda.empty_cache()
    else:
        out['peak_mb'] = None
    return out
