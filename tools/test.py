"""Evaluate a checkpoint of any OpenMMLab config of this project.

    python tools/test.py CONFIG CHECKPOINT [--overlay-dir DIR] [--per-image-csv F] [--cfg-options ...]
    python tools/test.py CONFIG CHECKPOINT --amp bf16 --channels-last      # bf16 autocast (CUDA, or the CPU)
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_GPUS [...]

CHECKPOINT ``none`` (any case) loads no checkpoint: for models without learned weights (the
handcrafted nucleus segmentor) or whose config loads its own (``EnsembleNucleusSegmentor``'s
``deep_checkpoint``).
"""
import argparse
import json
import os
import os.path as osp

from mmengine_plugins.config import add_common_args, load_config

from mmengine_plugins.config import add_run_options
from mmengine_plugins.data_check import check_data_prepared


def main():
    p = argparse.ArgumentParser(description='Test a checkpoint from an OpenMMLab config')
    p.add_argument('config')
    p.add_argument('checkpoint', help="checkpoint file, or 'none' for models without learned weights")
    p.add_argument('--overlay-dir', help='write overlays of predicted (and ground-truth) contours here')
    p.add_argument('--per-image-csv', help='segmentation: per-image counts and scores as CSV')
    p.add_argument('--split', choices=['test', 'val'], default='test', help='which split to evaluate')
    add_common_args(p)
    add_run_options(p, training=False)
    args = p.parse_args()
    no_checkpoint = args.checkpoint.lower() == 'none'
    cfg = load_config(args, *([] if no_checkpoint else [args.checkpoint]))
    check_data_prepared(cfg, args.config)  # a missing data folder is named with its converter command
    cfg.load_from = None if no_checkpoint else args.checkpoint
    if (args.overlay_dir or args.per_image_csv) and cfg.get('default_scope') != 'mmseg':
        raise SystemExit('error: --overlay-dir and --per-image-csv are for segmentation (mmseg) configs; '
                         f"{args.config} has default_scope={cfg.get('default_scope')!r}")
    if args.split == 'val':
        # Both: a COCO evaluator reads its own ground-truth file, which must be the val split's too.
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    for ev in cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]:
        if ev.get('type') == 'ClassificationReport' and not ev.get('out_dir'):
            # classifiers (mmpretrain_plugins): confusion matrix CSV + PNG and per-image predictions
            ev['out_dir'] = osp.join(cfg.work_dir, 'classification_report')
    if args.per_image_csv:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        for ev in evaluators:
            if ev.get('type') == 'NucleusMetric':
                ev['per_image_csv'] = args.per_image_csv
    if args.overlay_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='ContourOverlayHook', out_dir=args.overlay_dir)]

    from mmengine.runner import Runner
    metrics = Runner.from_cfg(cfg).test()
    print_metrics(metrics, osp.join(cfg.work_dir, 'test_metrics.json'))


def print_metrics(metrics: dict, json_path: str) -> None:
    """Print the metrics as a table and keep them as json next to the logs."""
    os.makedirs(osp.dirname(json_path), exist_ok=True)
    with open(json_path, 'w') as f:
        json.dump(metrics, f, indent=2)
    width = max(map(len, metrics), default=0)
    print('\n'.join(f'{k:<{width}}  {v:.4f}' if isinstance(v, float) else f'{k:<{width}}  {v}'
                    for k, v in metrics.items()))
    print(f'metrics written to {json_path}')


if __name__ == '__main__':
    main()
