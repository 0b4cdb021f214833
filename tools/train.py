"""Train any OpenMMLab config of this project (segmentation or detection).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG NUM_GPUS [...]
"""
import argparse

from _common import add_common_args, load_config

from mmengine_plugins.data_check import check_data_prepared


def main():
    p = argparse.ArgumentParser(description='Train a model from an OpenMMLab config')
    p.add_argument('config', help='config file')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CKPT, or from the latest checkpoint in work-dir when no path is given')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    p.add_argument('--sync-bn', action='store_true', help='convert BatchNorm to SyncBatchNorm (multi-GPU)')
    add_common_args(p)
    args = p.parse_args()
    cfg = load_config(args)
    check_data_prepared(cfg, args.config)  # a missing data folder is named with its converter command
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume

    from mmengine.runner import Runner
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
