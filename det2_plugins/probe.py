"""A short, time-bounded training and evaluation of one Detectron2 config: the Detectron2 part of
``tools/gpu_check.py`` (see :mod:`mmengine_plugins.probe` for the OpenMMLab one).

The config keeps its model, data and optimizer; the schedule becomes ``iters`` iterations with the
config's warm-up shortened to the first tenth and no decay steps. Training runs the usual
``SimpleTrainer`` / ``AMPTrainer`` step in a loop that stops at ``train_seconds``; then
``COCOEvaluator`` scores the ``DATASETS.TEST`` splits once. The set-up is
:func:`det2_plugins.engine.setup_run`, so a crashing environment report does not end the probe.
"""
from __future__ import annotations

import argparse
import time

import torch


def run_probe(config_file: str, opts: list, work_dir: str, iters: int, train_seconds: float,
              amp: str | None = None, warmup_iters: int = 5) -> dict:
    """Fields of :class:`hemaseg.gpu_check.PartResult` for one Detectron2 config (see module doc)."""
    from detectron2.engine import AMPTrainer, SimpleTrainer
    from detectron2.utils.events import EventStorage

    from .engine import AMP_PRECISIONS, Trainer, build_cfg, register_datasets, setup_run
    if iters < 2:
        raise ValueError(f'a probe needs at least 2 iterations, got {iters}')
    amp_opts = [] if not amp else ['SOLVER.AMP.ENABLED', 'True', 'SOLVER.AMP.PRECISION',
                                   {'fp16': 'float16', 'bf16': 'bfloat16'}[amp]]
    cfg = build_cfg(config_file, [*opts, 'OUTPUT_DIR', work_dir, 'SOLVER.MAX_ITER', str(iters), 'SOLVER.STEPS', '()',
                                  'SOLVER.WARMUP_ITERS', str(max(1, iters // 10)), *amp_opts])
    setup_run(cfg, argparse.Namespace(config_file=config_file, opts=opts, eval_only=False))
    register_datasets(cfg)
    model = Trainer.build_model(cfg)
    optimizer = Trainer.build_optimizer(cfg, model)
    loader = Trainer.build_train_loader(cfg)
    scheduler = Trainer.build_lr_scheduler(cfg, optimizer)
    if amp:
        scaler = torch.amp.GradScaler('cuda', enabled=amp == 'fp16')
        step = AMPTrainer(model, loader, optimizer, precision=AMP_PRECISIONS[cfg.SOLVER.AMP.PRECISION],
                          grad_scaler=scaler)
    else:
        step = SimpleTrainer(model, loader, optimizer)
    cuda = torch.cuda.is_available() and cfg.MODEL.DEVICE.startswith('cuda')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    losses, t0, t_warm = [], time.monotonic(), None
    model.train()
    with EventStorage(0) as storage:
        step.storage = storage
        for it in range(iters):
            step.iter = storage.iter = it
            step.run_step()  # raises FloatingPointError on a non-finite loss (Detectron2's own check)
            scheduler.step()
            losses.append(storage.history('total_loss').latest())
            if it + 1 == warmup_iters:
                sync()
                t_warm = time.monotonic()
            if time.monotonic() - t0 > train_seconds:
                break
    sync()
    timed = len(losses) - warmup_iters if t_warm is not None else 0
    seconds = time.monotonic() - t_warm if t_warm is not None else 0.0
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    results = Trainer.test(cfg, model)
    if 'segm' not in results:  # several test sets: the first one's
        results = next(iter(results.values()))
    return dict(iterations=len(losses), timed_iterations=timed, train_seconds=seconds,
                batch_size=cfg.SOLVER.IMS_PER_BATCH, peak_memory_mb=peak, losses=losses,
                metric_name='segm AP (%)', metric=float(results['segm']['AP']),
                device=torch.cuda.get_device_name() if cuda else 'cpu')
