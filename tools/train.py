"""Train any OpenMMLab config of this project (segmentation, detection or classification).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--cfg-options k=v ...]
    python tools/train.py CONFIG --amp bf16 --channels-last --cudnn-benchmark --workers auto   # a GPU node
    python tools/train.py CONFIG --auto-scale-lr --cfg-options train_dataloader.batch_size=32
    bash tools/dist_train.sh CONFIG NUM_GPUS [...]

``--amp`` (fp16 with a dynamic loss scale) or ``--amp bf16`` (no loss scale) train with MMEngine's
``AmpOptimWrapper`` on CUDA. ``--auto-scale-lr`` scales the learning rate by (GPUs x batch) / the
config's own batch. See ``mmengine_plugins/config.py`` for every option.
"""
import argparse

from mmengine_plugins.config import add_common_args, load_config

from mmengine_plugins.config import add_run_options
from mmengine_plugins.data_check import check_data_prepared


def main():
    p = argparse.ArgumentParser(description='Train a model from an OpenMMLab config')
    p.add_argument('config', help='config file')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CKPT, or from the latest checkpoint in work-dir when no path is given')
    p.add_argument('--sync-bn', action='store_true', help='convert BatchNorm to SyncBatchNorm (multi-GPU)')
    add_common_args(p)
    add_run_options(p, training=True)
    args = p.parse_args()
    cfg = load_config(args)
    check_data_prepared(cfg, args.config)  # a missing data folder is named with its converter command
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume

    from mmengine.runner import Runner

    from hemaseg.training_guard import TrainingCollapsed
    try:
        Runner.from_cfg(cfg).train()
    except TrainingCollapsed as e:  # a diverged or collapsed run (mmengine_plugins.hooks): say so, no traceback
        raise SystemExit(f'error: {e}') from None


if __name__ == '__main__':
    main()
