"""Shared start-up of the ``tools/`` scripts: repo root on ``sys.path`` (so they run
from a checkout without ``pip install``) and config loading with the usual overrides."""
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def add_common_args(parser):
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='logs, checkpoints and metrics (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args, *must_exist):
    """Config from ``args.config`` with ``--cfg-options``, launcher and work dir applied."""
    from mmengine.config import Config

    import mmengine_plugins  # noqa: F401  (torch.load allow-list; configs register their modules via custom_imports)
    for path in (args.config, *must_exist):
        if not osp.isfile(path):
            raise SystemExit(f'error: {path} does not exist')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.launcher == 'pytorch':
        init_cpu_process_group(cfg)
    return cfg


def init_cpu_process_group(cfg) -> None:
    """Start the gloo process group ourselves on machines without CUDA.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally and its
    default DDP wrapper passes ``device_ids=[LOCAL_RANK]``, so both fail on a CPU-only
    node. The Runner skips ``init_dist`` when a process group already exists, and a
    ``model_wrapper_cfg`` without device ids gives CPU DDP. CUDA machines are untouched.
    """
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available() or dist.is_initialized():
        return
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    if backend != 'gloo':
        print(f'no CUDA device: using the gloo backend instead of {backend}')
    dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                     find_unused_parameters=cfg.get('find_unused_parameters', False))
