"""MMEngine hooks of the GPU work: channels-last weights, a time-bounded probe run, and loss logging
without a host-device synchronisation per iteration.

Registered in MMEngine's root ``HOOKS`` registry, so every downstream scope (mmseg, mmdet,
mmpretrain) finds them by name (child registries fall back to their parent).
"""
from __future__ import annotations

import time

import torch
from mmengine.hooks import Hook, LoggerHook, RuntimeInfoHook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Moves the model's 4-D weights to ``torch.channels_last`` (NHWC) before training and testing.

    cuDNN's fast fp16/bf16 convolutions work in NHWC; with NCHW weights every convolution pays for
    layout transposes. The data preprocessors still emit NCHW batches: a convolution with an NHWC
    weight returns NHWC (PyTorch follows the weight's suggested memory format), so after the first
    layer the whole network runs channels-last. Non-4-D tensors are left as they are.
    """

    def _convert(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)


@HOOKS.register_module()
class TimeBoundedProbeHook(Hook):
    """Stops training after ``train_seconds`` and records what ``tools/gpu_check.py`` reports.

    Records every iteration's total loss as a detached tensor (converted once, after training,
    so the probe adds no host-device synchronisation per iteration), the wall time of the
    iterations after the first ``warmup_iters`` (cuDNN autotuning and lazy initialisation
    excluded; CUDA synchronised at both ends) and the peak CUDA memory. ``runner.train_loop.
    stop_training`` ends the loop at the next iteration boundary, as MMEngine's early stopping does.
    """
    priority = 'VERY_LOW'

    def __init__(self, train_seconds: float, warmup_iters: int = 5):
        self.train_seconds = train_seconds
        self.warmup_iters = warmup_iters
        self.losses: list = []
        self.timed_iterations = 0
        self.timed_seconds = 0.0
        self._t0 = self._t_warm = None

    @staticmethod
    def _sync() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def before_train(self, runner) -> None:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._t0 = time.monotonic()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        if isinstance(loss, torch.Tensor):
            self.losses.append(loss.detach())
        done = len(self.losses)
        if done == self.warmup_iters:
            self._sync()
            self._t_warm = time.monotonic()
        if time.monotonic() - self._t0 > self.train_seconds:
            runner.train_loop.stop_training = True

    def after_train(self, runner) -> None:
        self._sync()
        if self._t_warm is not None:
            self.timed_seconds = time.monotonic() - self._t_warm
            self.timed_iterations = len(self.losses) - self.warmup_iters

    def loss_values(self) -> list:
        """The recorded losses as floats (one transfer for all of them)."""
        return torch.stack(self.losses).float().cpu().tolist() if self.losses else []


@HOOKS.register_module()
class SyncFreeRuntimeInfoHook(RuntimeInfoHook):
    """MMEngine's ``RuntimeInfoHook`` without a host-device synchronisation per loss and iteration.

    The stock hook hands every logged loss tensor of every iteration to the message hub, which turns
    it into a Python float with ``.item()``: on a GPU the host then waits, at every iteration, for
    the step to finish (``hemaseg.host_sync`` counts these). This hook keeps the tensors (detached,
    on the device) and hands them over, all in one transfer, at the iterations the logger writes
    (every ``interval``-th, read from the runner's ``LoggerHook``), before validation and at the
    end of training. The message hub receives the same values in the same order, so the logs are
    unchanged; they just arrive in batches. Non-tensor outputs pass straight through.

    At each hand-over :class:`hemaseg.training_guard.CollapseGuard` sees every iteration's losses
    (and ``fg_recall`` where a box head logs it): training stops with a clear message at a
    non-finite loss, or when the box head has classified every foreground RoI as background for
    ``collapse_patience`` iterations after it had learned foreground (``None``: no guard).
    """

    def __init__(self, interval: int | None = None, collapse_patience: int | None = 100):
        super().__init__()
        from hemaseg.training_guard import CollapseGuard
        self.interval = interval
        self._pending: dict = {}
        self._iters: list = []  # the iteration of each kept value
        self.guard = CollapseGuard(collapse_patience) if collapse_patience else None

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = loggers[0].interval if loggers else 1

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._iters.append(runner.iter)
        for key, value in (outputs or {}).items():
            if isinstance(value, torch.Tensor):
                self._pending.setdefault(key, []).append(value.detach().float().mean())
            else:
                self.flush(runner)  # keep the hub's order of updates
                runner.message_hub.update_scalar(f'train/{key}', value)
        if (runner.iter + 1) % self.interval == 0:
            self.flush(runner)

    def flush(self, runner) -> None:
        """Hand every kept value to the message hub (one device-to-host copy for all of them)."""
        if not self._pending:
            return
        keys, iters = list(self._pending), self._iters
        lengths = {len(v) for v in self._pending.values()}
        if len(lengths) == 1:  # the usual case: every key every iteration, one transfer
            stacked = torch.stack([torch.stack(self._pending[k]) for k in keys]).cpu().tolist()
        else:
            stacked = [torch.stack(self._pending[k]).cpu().tolist() for k in keys]
        self._pending, self._iters = {}, []
        rows: dict = {}  # iteration -> {key: value}; a key's values belong to the last iterations
        for key, series in zip(keys, stacked):
            for iteration, value in zip(iters[len(iters) - len(series):], series):
                runner.message_hub.update_scalar(f'train/{key}', value)
                rows.setdefault(iteration, {})[key] = value
        if self.guard is not None:
            for iteration, row in sorted(rows.items()):
                self.guard.update(iteration, {k: v for k, v in row.items() if 'loss' in k}, row.get('fg_recall'))

    def before_val(self, runner) -> None:
        self.flush(runner)
        super().before_val(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)
