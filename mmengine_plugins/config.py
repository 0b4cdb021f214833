"""Config handling shared by every OpenMMLab tool and by :mod:`mmengine_plugins.probe`: ``{fold}``
templates, ``--cfg-options`` parsing, CPU process groups, the run options of ``tools/train.py``
(mixed precision, channels-last, cuDNN benchmark, data-loader workers, learning-rate scaling), and
:func:`load_config`, the start-up of ``tools/train.py`` / ``tools/test.py`` and the classifier tools.
Plain config dicts and torch only; no downstream OpenMMLab library is imported."""
from __future__ import annotations

import os
import os.path as osp


def parse_cfg_options(options):
    """``['a.b=1', 'c=x']`` -> the dict ``--cfg-options`` gives (mmengine's DictAction: ints, lists ...)."""
    import argparse

    from mmengine.config import DictAction
    if not options:
        return {}
    p = argparse.ArgumentParser(prog='--cfg-options')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(['--cfg-options', *options]).cfg_options


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


# --------------------------------------------------------------------------- run options of tools/train.py
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}


def apply_amp(cfg, mode: str, cuda: bool | None = None, bf16: bool | None = None) -> None:
    """Mixed precision through MMEngine's ``AmpOptimWrapper``: ``'fp16'`` with a dynamic loss scale
    (fp16's small exponent range underflows small gradients without it), ``'bf16'`` without one
    (bf16 has fp32's exponent range; the scaler would only add inf checks). Autocast keeps
    reductions, softmax and losses in fp32 either way.

    ``cuda`` / ``bf16`` default to what this machine has. Raises SystemExit, saying what to do
    instead, without a CUDA GPU (MMEngine's AMP wrapper is GPU-only) or, for bf16, on a GPU
    without bf16 (compute capability < 8.0).
    """
    import torch
    if mode not in AMP_DTYPES:
        raise SystemExit(f'error: --amp {mode!r}: choose one of {", ".join(AMP_DTYPES)}')
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if not cuda:
        raise SystemExit(f'error: --amp {mode} needs a CUDA GPU (MMEngine\'s AmpOptimWrapper runs on GPUs only); '
                         'train in fp32 on the CPU (leave out --amp)')
    if mode == 'bf16' and not (torch.cuda.is_bf16_supported() if bf16 is None else bf16):
        raise SystemExit('error: --amp bf16: this GPU has no bf16 support (compute capability < 8.0); use --amp fp16')
    wrapper = cfg.optim_wrapper
    wrapper['type'] = 'AmpOptimWrapper'
    wrapper['dtype'] = AMP_DTYPES[mode]
    if mode == 'bf16':
        wrapper['loss_scale'] = dict(enabled=False)
    else:
        wrapper.setdefault('loss_scale', 'dynamic')


def resolve_workers(value: str | int, processes: int = 1, cpus: int | None = None) -> int:
    """Data-loader workers per process: an int as given, or ``'auto'``: the cores left after one
    main process per training process, shared among ``processes`` runs, at most 8 each (more
    only feed small fixed-size crops faster than a step consumes them)."""
    if str(value) != 'auto':
        n = int(value)
        if n < 0:
            raise SystemExit(f'error: --workers must be >= 0 or auto, got {value}')
        return n
    cpus = cpus if cpus is not None else (len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
                                          else os.cpu_count() or 1)
    return max(1, min(8, cpus // max(1, processes) - 1))


def apply_workers(cfg, workers: int) -> None:
    """``num_workers`` of every ``*_dataloader``; persistent workers when there are any (no re-spawn
    at every validation)."""
    for name in list(cfg.keys()):
        if name.endswith('_dataloader') and isinstance(cfg[name], dict):
            cfg[name]['num_workers'] = workers
            cfg[name]['persistent_workers'] = workers > 0


def apply_auto_scale_lr(cfg, base_batch_size: int) -> None:
    """Scale the learning rate linearly with the total batch (GPUs x ``train_dataloader.batch_size``)
    through MMEngine's ``auto_scale_lr`` (Goyal et al., "Accurate, Large Minibatch SGD", 2017,
    arXiv:1706.02677). ``base_batch_size`` is the batch the config's rate was chosen for: the
    config's own ``auto_scale_lr.base_batch_size`` when it states one, else the config's batch
    before any ``--cfg-options`` (what :func:`config_batch_size` read)."""
    stated = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=stated or base_batch_size)


def config_batch_size(cfg) -> int | None:
    """``train_dataloader.batch_size`` of a config (None if it has no training loader)."""
    loader = cfg.get('train_dataloader')
    return loader.get('batch_size') if isinstance(loader, dict) else None


def apply_channels_last(cfg) -> None:
    """Add :class:`mmengine_plugins.hooks.ChannelsLastHook` (NHWC weights: Tensor Core convolutions
    without layout transposes under AMP)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(h, dict) and h.get('type') == 'ChannelsLastHook' for h in hooks):
        hooks.append(dict(type='ChannelsLastHook'))
    cfg.custom_hooks = hooks


def apply_inference_amp(cfg, mode: str) -> None:
    """Autocast in the validation and test loops (MMEngine's ``fp16`` switch of ``ValLoop`` /
    ``TestLoop``). Their autocast takes torch's default autocast dtype on CUDA, so bf16 sets that
    default; on the CPU MMEngine's autocast is bf16 only."""
    import torch
    if mode not in AMP_DTYPES:
        raise SystemExit(f'error: --amp {mode!r}: choose one of {", ".join(AMP_DTYPES)}')
    if torch.cuda.is_available():
        if mode == 'bf16' and not torch.cuda.is_bf16_supported():
            raise SystemExit('error: --amp bf16: this GPU has no bf16 support (compute capability < 8.0); use --amp fp16')
        torch.set_autocast_dtype('cuda', getattr(torch, AMP_DTYPES[mode]))
    elif mode != 'bf16':
        raise SystemExit('error: --amp fp16 needs a CUDA GPU; on the CPU only --amp bf16 autocasts')
    for key in ('val_cfg', 'test_cfg'):
        if isinstance(cfg.get(key), dict):
            cfg[key]['fp16'] = True


def add_run_options(parser, training: bool) -> None:
    """The GPU options of ``tools/train.py`` (``training``) and ``tools/test.py``."""
    parser.add_argument('--amp', nargs='?', const='fp16', choices=list(AMP_DTYPES),
                        help='mixed precision on CUDA: fp16 (the default of a bare --amp, dynamic loss scale) or '
                             'bf16 (no loss scale; Ampere and newer)' + ('' if training else '; bf16 also on the CPU'))
    parser.add_argument('--channels-last', action='store_true', help='NHWC weights (faster AMP convolutions)')
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help='let cuDNN time its algorithms per input shape (fixed-size GPU configs; not bitwise '
                             'deterministic)')
    parser.add_argument('--workers', help="data-loader workers per process: N, or 'auto' (the machine's cores "
                                          'shared among --processes runs)')
    parser.add_argument('--processes', type=int, default=1,
                        help='runs sharing this machine, for --workers auto (default 1)')
    if training:
        parser.add_argument('--auto-scale-lr', action='store_true',
                            help="scale the learning rate linearly with the total batch (GPUs x batch size) from the "
                                 "batch the config's rate was set for")


def apply_run_options(cfg, args, base_batch_size: int | None = None, training: bool = True) -> None:
    """Apply :func:`add_run_options`' flags to ``cfg``."""
    if args.amp:
        (apply_amp if training else apply_inference_amp)(cfg, args.amp)
    if args.channels_last:
        apply_channels_last(cfg)
    if args.cudnn_benchmark:
        cfg.env_cfg = dict(cfg.get('env_cfg') or {}, cudnn_benchmark=True)
    if args.workers is not None:
        apply_workers(cfg, resolve_workers(args.workers, args.processes))
    if training and args.auto_scale_lr:
        if not base_batch_size:
            raise SystemExit('error: --auto-scale-lr: the config has no train_dataloader.batch_size to scale from')
        apply_auto_scale_lr(cfg, base_batch_size)


def check_mmcv_cuda_ops(cfg, cuda: bool | None = None) -> None:
    """Stop, saying how to fix it, before an MMDetection config runs on a GPU with an mmcv built with
    CPU ops only: mmdet's RoIAlign and NMS call mmcv's compiled ops, which would otherwise fail deep
    inside the first iteration ("nms_impl: implementation for device cuda:0 not found")."""
    import torch
    if cfg.get('default_scope') != 'mmdet' or not (torch.cuda.is_available() if cuda is None else cuda):
        return
    from mmcv.ops import get_compiling_cuda_version
    if get_compiling_cuda_version() in ('', 'not available'):
        raise SystemExit('error: this MMDetection config would run on the GPU, but mmcv was built with CPU ops only '
                         '(mmcv.ops.get_compiling_cuda_version() is "not available"); rebuild it with CUDA ops: '
                         'FORCE_CUDA=1 bash tools/setup_env.sh (README, "GPU node"), or run on the CPU with '
                         'CUDA_VISIBLE_DEVICES=')


def add_common_args(parser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank`` of the OpenMMLab tools."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='logs, checkpoints and metrics (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args, *must_exist):
    """Config from ``args.config`` with ``--cfg-options``, ``{fold}`` templates, launcher and work dir
    applied (the arguments of :func:`add_common_args`; the run options too when ``args`` has them)."""
    from mmengine.config import Config

    import mmengine_plugins  # noqa: F401  (torch.load allow-list; configs register their modules via custom_imports)
    from hemaseg.model_index import missing_config_message
    for path in (args.config, *must_exist):
        if not osp.isfile(path):
            raise SystemExit(missing_config_message(path))
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
