"""A short, time-bounded training and evaluation of one OpenMMLab config: the per-model part of
``tools/gpu_check.py`` for MMSegmentation, MMDetection and MMPretrain.

The config keeps its model, data pipeline and optimizer; the probe replaces only what would make
a few hundred iterations meaningless or slow: the schedule (an iteration loop of ``iters``
iterations with a linear warm-up over the first tenth, then the config's learning rate; epoch-based
and plateau schedules cannot run in minutes), checkpointing (none) and validation during training
(none; one validation pass after it). :class:`~mmengine_plugins.hooks.TimeBoundedProbeHook`
stops training when its time is up.
"""
from __future__ import annotations

import os.path as osp

from .config import apply_amp, apply_channels_last, apply_workers, parse_cfg_options, resolve_fold

# The first metric found is the row's evaluation score: mmseg (NucleusMetric), mmdet (CocoMetric),
# MMPretrain (Accuracy / ClassificationReport).
METRIC_KEYS = ('nucleus/mDice', 'coco/segm_mAP', 'coco/bbox_mAP', 'accuracy/top1', 'cls/accuracy')


def probe_config(cfg, work_dir: str, iters: int, train_seconds: float, amp: str | None = None,
                 channels_last: bool = False, workers: int | None = None, log_interval: int = 20):
    """Rewrite ``cfg`` (an mmengine ``Config``, options already merged) for a probe run and return the
    :class:`TimeBoundedProbeHook` that will record it."""
    from .hooks import TimeBoundedProbeHook
    if iters < 2:
        raise ValueError(f'a probe needs at least 2 iterations, got {iters}')
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    cfg.val_cfg = dict(type='ValLoop')
    warmup = max(1, iters // 10)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup)]
    hooks = cfg.get('default_hooks') or {}
    hooks['checkpoint'] = dict(type='CheckpointHook', interval=-1, save_last=False, by_epoch=False)
    hooks['logger'] = dict(type='LoggerHook', interval=log_interval, log_metric_by_epoch=False)
    cfg.default_hooks = hooks
    cfg.log_processor = dict(by_epoch=False)
    if amp:
        apply_amp(cfg, amp)
    if channels_last:
        apply_channels_last(cfg)
    if workers is not None:
        apply_workers(cfg, workers)
    return TimeBoundedProbeHook(train_seconds, warmup_iters=min(5, iters // 2))


def run_probe(config: str, cfg_options: list, work_dir: str, iters: int, train_seconds: float,
              amp: str | None = None, channels_last: bool = False, workers: int | None = None) -> dict:
    """Train ``config`` for at most ``iters`` iterations / ``train_seconds`` seconds, validate once, and
    return the fields of :class:`hemaseg.gpu_check.PartResult` (losses, timing, memory, metric)."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmengine_plugins  # noqa: F401  (checkpoint allow-list, hooks)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(parse_cfg_options(cfg_options))
    resolve_fold(cfg, config)
    hook = probe_config(cfg, work_dir, iters, train_seconds, amp, channels_last, workers)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(hook)
    runner.train()
    metrics = runner.val() or {}
    name = next((k for k in METRIC_KEYS if k in metrics), None)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'
    return dict(iterations=len(hook.losses), timed_iterations=hook.timed_iterations,
                train_seconds=hook.timed_seconds, batch_size=cfg.train_dataloader.batch_size,
                peak_memory_mb=torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
                losses=hook.loss_values(), metric_name=name or '', metric=None if name is None else float(metrics[name]),
                device=device, log_dir=osp.join(work_dir, runner.timestamp))
