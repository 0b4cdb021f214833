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
the CPU (one process).
"""
from __future__ import annotations

import logging
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import detectron2.utils.comm as comm  # noqa: E402
from detectron2.checkpoint import DetectionCheckpointer  # noqa: E402
from detectron2.config import get_cfg  # noqa: E402
from detectron2.data import build_detection_test_loader, build_detection_train_loader  # noqa: E402
from detectron2.engine import DefaultTrainer, default_argument_parser, default_setup, launch  # noqa: E402
from detectron2.evaluation import COCOEvaluator, verify_results  # noqa: E402

from det2_plugins import add_hemaseg_config, build_mapper, register_coco_folder  # noqa: E402
from det2_plugins.data import check_datasets_registered  # noqa: E402

logger = logging.getLogger("det2_train_net")


class Trainer(DefaultTrainer):
    """``DefaultTrainer`` with our data mapper and COCO box + mask evaluation."""

    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=build_mapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name, mapper=build_mapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return COCOEvaluator(dataset_name, tasks=("bbox", "segm"), distributed=True, output_dir=output_folder)


def setup(args):
    cfg = get_cfg()
    add_hemaseg_config(cfg)
    if not os.path.isfile(args.config_file):
        raise SystemExit(f"config file {args.config_file!r} does not exist")
    cfg.merge_from_file(args.config_file)
    cfg.merge_from_list(args.opts)
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    default_setup(cfg, args)
    return cfg


def register_datasets(cfg) -> None:
    if cfg.DATASETS.COCO_ROOT:
        names = register_coco_folder(cfg.DATASETS.COCO_ROOT, cfg.DATASETS.COCO_NAME)
        logger.info("registered %s", ", ".join(names))
    check_datasets_registered(cfg)


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
    trainer.train()
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
