"""Shared start-up of the ``tools/`` scripts: repo root on ``sys.path`` (so they run
from a checkout without ``pip install``) and config loading with the usual overrides,
including the ``{fold}`` templates of the dataset configs (:func:`resolve_fold`)."""
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine_plugins.config import (FOLD_TEMPLATE, ann_file_slots, apply_run_options,  # noqa: E402,F401
                                     check_mmcv_cuda_ops, config_batch_size, init_cpu_process_group,
                                     parse_cfg_options, resolve_fold)


def add_common_args(parser):
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='logs, checkpoints and metrics (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args, *must_exist):
    """Config from ``args.config`` with ``--cfg-options``, ``{fold}`` templates, launcher and work dir applied."""
    from mmengine.config import Config

    import mmengine_plugins  # noqa: F401  (torch.load allow-list; configs register their modules via custom_imports)
    for path in (args.config, *must_exist):
        if not osp.isfile(path):
            raise SystemExit(f'error: {path} does not exist')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    base_batch_size = config_batch_size(cfg)  # the batch the config's learning rate was set for
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    resolve_fold(cfg, args.config)  # after the options: `fold=K` must reach every path
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.launcher == 'pytorch':
        init_cpu_process_group(cfg)
    if hasattr(args, 'amp'):  # a tool with the GPU options (add_run_options)
        apply_run_options(cfg, args, base_batch_size, training=hasattr(args, 'auto_scale_lr'))
    check_mmcv_cuda_ops(cfg)
    return cfg
