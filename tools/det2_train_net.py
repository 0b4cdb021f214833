#!/usr/bin/env python
"""Train / evaluate the Detectron2 configs of ``configs/*/detectron2`` (YOLACT-CIS, YOLACT-R50,
R-Mask R-CNN, Mask R-CNN) with Detectron2's ``DefaultTrainer`` and ``COCOEvaluator``.

    python tools/det2_train_net.py --config-file configs/yolact_cis/detectron2/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550.yaml
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

from detectron2.engine import default_argument_parser

from det2_plugins.engine import train_net


def cli(argv=None):
    """Parse Detectron2's standard arguments (``argv``, default the command line) and train or evaluate."""
    return train_net(default_argument_parser().parse_args(argv))


if __name__ == "__main__":
    cli()
