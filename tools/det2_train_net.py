#!/usr/bin/env python
"""Train / evaluate the Detectron2 configs of ``configs/detectron2`` (YOLACT-CIS, YOLACT-R50,
R-Mask R-CNN, Mask R-CNN) with Detectron2's ``DefaultTrainer`` and ``COCOEvaluator``.

    python tools/det2_train_net.py --config-file configs/detectron2/yolact-cis_ghost-r50-s4_dffn-ddam_wbc-550.yaml
    python tools/det2_train_net.py --config-file CONFIG --num-gpus 8
    python tools/det2_train_net.py --config-file CONFIG --eval-only MODEL.WEIGHTS work_dirs/x/model_final.pth
    python tools/det2_train_net.py --config-file CONFIG --resume          # continue from OUTPUT_DIR/last_checkpoint

Trailing ``KEY VALUE`` pairs override the config (``DATASETS.COCO_ROOT /data/wbc_coco``,
``SOLVER.MAX_ITER 100``, ...). Every ``DATASETS.COCO_ROOT/annotations/<split>.json`` is
registered as ``<DATASETS.COCO_NAME>_<split>`` before training. Without CUDA the model runs on
the CPU (one process). ``SOLVER.AMP.ENABLED True`` trains with fp16 autocast and a loss scale;
add ``SOLVER.AMP.PRECISION bfloat16`` for bf16 (Ampere and newer).

The set-up is Detectron2's ``default_setup`` except that its environment report runs in a child
process (``det2_plugins.engine.setup_run``): it segfaulted on a CUDA 13 node, and now only its
log line is lost.
"""
from __future__ import annotations


import torch

import detectron2.utils.comm as comm  # noqa: E402
from detectron2.checkpoint import DetectionCheckpointer  # noqa: E402
from detectron2.engine import default_argument_parser, launch  # noqa: E402
from detectron2.evaluation import verify_results  # noqa: E402

from det2_plugins.engine import Trainer, build_cfg, register_datasets, setup_run  # noqa: E402
from hemaseg.training_guard import ADVICE, TrainingCollapsed  # noqa: E402


def setup(args):
    cfg = build_cfg(args.config_file, args.opts)
    # default_setup without collect_env_info in this process: on a CUDA 13 node that report
    # segfaulted before the first iteration (det2_plugins/engine.py).
    setup_run(cfg, args)
    return cfg


def main(args):
    cfg = setup(args)
    register_datasets(cfg)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        res = Trainer.test(cfg, model)
        if comm.is_main_process():
            verify_results(cfg, res)
        return res
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    try:
        trainer.train()
    except TrainingCollapsed as e:  # the guard's message says what happened and what to try
        raise SystemExit(f"error: {e}") from None
    except FloatingPointError as e:  # Detectron2's own check of the loss
        raise SystemExit(f"error: {e}; training stopped. Try: {ADVICE}.") from None
    # DefaultTrainer.train() returns them only when TEST.EXPECTED_RESULTS is set.
    return getattr(trainer, "_last_eval_results", None)


def cli(argv=None):
    args = default_argument_parser().parse_args(argv)
    if args.num_gpus > 1 and torch.cuda.device_count() < args.num_gpus:
        raise SystemExit(f"--num-gpus {args.num_gpus} needs that many CUDA devices; this machine has "
                         f"{torch.cuda.device_count()} (on CPU use --num-gpus 1)")
    print("Command Line Args:", args)
    if args.num_gpus * args.num_machines == 1:
        return main(args)  # in-process, so that callers get the evaluation results
    return launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
                  dist_url=args.dist_url, args=(args,))


if __name__ == "__main__":
    cli()
