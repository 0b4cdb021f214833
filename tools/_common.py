"""Shared start-up of the ``tools/`` scripts: repo root on ``sys.path`` (so they run
from a checkout without ``pip install``) and config loading with the usual overrides,
including the ``{fold}`` templates of the dataset configs (:func:`resolve_fold`)."""
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


def parse_cfg_options(options):
    """``['a.b=1', 'c=x']`` -> the dict ``--cfg-options`` gives (mmengine's DictAction: ints, lists ...)."""
    import argparse

    from mmengine.config import DictAction
    if not options:
        return {}
    p = argparse.ArgumentParser(prog='--cfg-options')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(['--cfg-options', *options]).cfg_options


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
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    resolve_fold(cfg, args.config)  # after the options: `fold=K` must reach every path
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.launcher == 'pytorch':
        init_cpu_process_group(cfg)
    return cfg


FOLD_TEMPLATE = '{fold}'


def _dataset_ann_files(ds, key):
    """``(key, owner dict)`` of every ``ann_file`` in a dataset config, through wrappers
    (``dataset=`` of RepeatDataset / ClassBalancedDataset / MultiImageMixDataset,
    ``datasets=[...]`` of ConcatDataset)."""
    if not isinstance(ds, dict):
        return
    if isinstance(ds.get('ann_file'), str):
        yield f'{key}.ann_file', ds
    yield from _dataset_ann_files(ds.get('dataset'), f'{key}.dataset')
    for i, sub in enumerate(ds.get('datasets') or []):
        yield from _dataset_ann_files(sub, f'{key}.datasets.{i}')


def ann_file_slots(cfg):
    """``(key, owner dict)`` of every ``ann_file`` in ``*_dataloader.dataset`` (wrappers included)
    and in ``*_evaluator`` (a dict or a list of dicts); ``owner['ann_file']`` is the path."""
    for name in list(cfg.keys()):
        value = cfg[name]
        if name.endswith('_dataloader') and isinstance(value, dict):
            yield from _dataset_ann_files(value.get('dataset'), f'{name}.dataset')
        elif name.endswith('_evaluator'):
            many = isinstance(value, (list, tuple))
            for i, ev in enumerate(value if many else [value]):
                if isinstance(ev, dict) and isinstance(ev.get('ann_file'), str):
                    yield (f'{name}.{i}.ann_file' if many else f'{name}.ann_file'), ev


def resolve_fold(cfg, source='config'):
    """Replace ``{fold}`` in every dataloader/evaluator ``ann_file`` with ``cfg.fold``.

    The base configs write their split paths as templates (``'splits/fold{fold}_train.txt'``)
    because an f-string is evaluated when the base file is parsed: a later
    ``--cfg-options fold=1`` or ``fold = 1`` in a child config would then change nothing
    and the run would silently read fold 0. Call this after every override is merged.
    Returns ``{key: resolved path}`` of the keys that held the template (empty if none).
    Raises SystemExit naming the key when a template is present but ``fold`` is not a
    non-negative integer.
    """
    templated = [(key, owner) for key, owner in ann_file_slots(cfg) if FOLD_TEMPLATE in owner['ann_file']]
    if not templated:
        return {}
    fold = cfg.get('fold')
    if fold is None:
        raise SystemExit(f"error: {source}: {templated[0][0]}={templated[0][1]['ann_file']!r} contains "
                         f"'{FOLD_TEMPLATE}' but the config has no top-level `fold`; add `fold = 0` to it "
                         'or pass --cfg-options fold=K')
    if isinstance(fold, bool) or not isinstance(fold, int) or fold < 0:
        raise SystemExit(f'error: {source}: fold must be a non-negative integer (it fills '
                         f"'{FOLD_TEMPLATE}' in {templated[0][0]}), got {fold!r}")
    resolved = {}
    for key, owner in templated:
        owner['ann_file'] = resolved[key] = owner['ann_file'].replace(FOLD_TEMPLATE, str(fold))
    return resolved


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
