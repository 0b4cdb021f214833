"""Verify a GPU install and measure it: the first thing to run on a new node.

    python tools/gpu_check.py [--minutes 8] [--data /path/to/raw_datasets] [--out gpu_check.md] \
        [--amp bf16] [--iters 300] [--frameworks mmseg mmdet mmpretrain detectron2]

For each framework that imports (MMSegmentation, MMDetection, MMPretrain, Detectron2) it trains one
of this project's models for up to ``--iters`` iterations on CUDA, evaluates it once, and writes one
markdown report: per model iterations/s, images/s, peak GPU memory, first and last loss (finite,
falling?), the evaluation score, and every part that was skipped or failed with the reason. The
whole run stays within ``--minutes`` (``hemaseg.gpu_check.Budget``); each model runs in its own
process, so a crash costs one row.

Data: with ``--data RAW`` (a folder holding ``wbc_zheng2018/`` and/or ``all_idb2/`` as in
``../shared/data``) the WBC nucleus and COCO sets and the ALL-IDB2 classification set are
converted on the node; without it (or for what RAW lacks) small synthetic sets are generated.

Models (``--config FRAMEWORK=PATH`` replaces one): MSFF-SegNeXt (mmseg, 256 px), YOLACT-CIS
(mmdet, 550 px; needs mmcv's CUDA ops, see README "GPU node"), ResNet-50 Medium-Mish (MMPretrain),
R-Mask R-CNN (Detectron2, 512 px).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))  # configs are named from the repository root

from hemaseg.gpu_check import Budget, Part, PartResult, format_report

FRAMEWORKS = ('mmseg', 'mmdet', 'mmpretrain', 'detectron2')
DEFAULT_MODELS = {
    'mmseg': ('MSFF-SegNeXt', 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py'),
    'mmdet': ('YOLACT-CIS', 'configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py'),
    'mmpretrain': ('ResNet-50 Medium-Mish', 'configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_all-idb2-224x224.py'),
    'detectron2': ('R-Mask R-CNN', 'configs/r_mask_rcnn/detectron2/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.yaml'),
}
DATA_OF = {'mmseg': 'seg', 'mmdet': 'coco', 'mmpretrain': 'cls', 'detectron2': 'coco'}


# --------------------------------------------------------------------------- data
def prepare_data(raw: str | None, out: str, log=print) -> dict:
    """``{'seg'|'coco'|'cls': (folder, description)}``: real sets converted from ``raw`` where it
    has them, synthetic ones otherwise."""
    from hemaseg.data.synthetic import generate_synthetic_dataset
    from hemaseg.data.synthetic_tasks import generate_synthetic_classification, generate_synthetic_coco
    data = {}
    wbc = osp.join(raw, 'wbc_zheng2018') if raw else None
    idb2 = osp.join(raw, 'all_idb2') if raw else None
    if wbc and osp.isdir(wbc):
        from hemaseg.data.coco_converters import convert_wbc_coco
        from hemaseg.data.wbc_zheng2018 import convert_wbc_zheng2018
        log(f'converting {wbc} (nucleus masks and COCO instances) ...')
        convert_wbc_zheng2018(wbc, osp.join(out, 'wbc_nucleus'), log=lambda _: None)
        convert_wbc_coco(wbc, osp.join(out, 'wbc_coco'), log=lambda _: None)
        data['seg'] = (osp.join(out, 'wbc_nucleus'), 'WBC (Zheng 2018) fold 0')
        data['coco'] = (osp.join(out, 'wbc_coco'), 'WBC COCO fold 0')
    if idb2 and osp.isdir(idb2):
        from hemaseg.data.all_idb2 import convert_all_idb2_classification
        log(f'converting {idb2} (ALL vs normal) ...')
        convert_all_idb2_classification(idb2, osp.join(out, 'all_idb2_cls'), log=lambda _: None)
        data['cls'] = (osp.join(out, 'all_idb2_cls'), 'ALL-IDB2 fold 0')
    if 'seg' not in data:
        generate_synthetic_dataset(osp.join(out, 'synthetic_nucleus'), num_images=60, size=128, log=lambda _: None)
        data['seg'] = (osp.join(out, 'synthetic_nucleus'), 'synthetic')
    if 'coco' not in data:
        data['coco'] = (generate_synthetic_coco(osp.join(out, 'synthetic_coco'), num_images=30, size=256), 'synthetic')
    if 'cls' not in data:
        data['cls'] = (generate_synthetic_classification(osp.join(out, 'synthetic_cls'), per_class=20), 'synthetic')
    return data


def data_options(framework: str, root: str) -> list:
    """The overrides that point a config of ``framework`` at fold 0 of ``root``."""
    if framework == 'detectron2':
        return ['DATASETS.COCO_ROOT', root, 'DATASETS.COCO_NAME', 'gpu_check', 'DATASETS.TRAIN',
                '("gpu_check_fold0_train",)', 'DATASETS.TEST', '("gpu_check_fold0_val",)']
    opts = ['fold=0'] + [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    if framework == 'mmdet':
        opts += [f'{s}_evaluator.ann_file={root}/annotations/fold0_{s}.json' for s in ('val', 'test')]
    return opts


# --------------------------------------------------------------------------- environment
def why_not_runnable(framework: str, device: str) -> str:
    """'' when ``framework`` can run here, else the reason to print in the report."""
    module = 'detectron2' if framework == 'detectron2' else framework
    if importlib.util.find_spec(module) is None:
        return f'{module} is not installed in this environment'
    if framework == 'mmdet' and device == 'cuda':
        from mmcv.ops import get_compiling_cuda_version
        if get_compiling_cuda_version() in ('', 'not available'):
            return ('mmcv was built with CPU ops only, and MMDetection\'s RoIAlign / NMS need its CUDA ops on a GPU: '
                    'rebuild with FORCE_CUDA=1 bash tools/setup_env.sh (README, "GPU node")')
    return ''


def environment_lines(device: str) -> list:
    import torch
    lines = [f'date: {time.strftime("%Y-%m-%d %H:%M:%S")}, host {platform.node()}, Python {platform.python_version()}, '
             f'{os.cpu_count()} CPU cores']
    if device == 'cuda':
        props = torch.cuda.get_device_properties(0)
        lines.append(f'GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, compute capability '
                     f'{props.major}.{props.minor}, bf16 {"yes" if torch.cuda.is_bf16_supported() else "no"}')
    else:
        lines.append('device: CPU (--device cpu; every part runs with CUDA_VISIBLE_DEVICES empty)')
    lines.append(f'torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})')
    versions = []
    for name in ('mmcv', 'mmengine', 'mmseg', 'mmdet', 'mmpretrain', 'detectron2'):
        if importlib.util.find_spec(name) is not None:
            try:
                versions.append(f'{name} {__import__(name).__version__}')
            except Exception as exc:  # an import that fails is worth a line, not a crash
                versions.append(f'{name} (import fails: {type(exc).__name__}: {exc})')
    lines.append(', '.join(versions))
    if importlib.util.find_spec('mmcv') is not None:
        from mmcv.ops import get_compiling_cuda_version
        lines.append(f'mmcv ops compiled for CUDA: {get_compiling_cuda_version()}')
    return lines


# --------------------------------------------------------------------------- one part (child process)
def run_child(args) -> None:
    """Runs inside the part's own process and writes its result JSON."""
    part = json.loads(args.child)
    os.makedirs(part['work_dir'], exist_ok=True)
    if part['framework'] == 'detectron2':
        from det2_plugins.probe import run_probe
    else:
        from mmengine_plugins.probe import run_probe
    kwargs = dict(iters=part['iters'], train_seconds=part['train_seconds'], amp=part['amp'])
    if part['framework'] != 'detectron2':
        kwargs.update(channels_last=part['channels_last'], workers=part['workers'])
    result = run_probe(part['config'], part['options'], part['work_dir'], **kwargs)
    with open(part['result'], 'w') as f:
        json.dump(result, f)


def run_part(part: Part, options: list, share: dict, args, work: str, log=print) -> PartResult:
    """Runs one part in a child process bounded by its share; a crash or time-out is a failed row."""
    tag = f'{part.framework}_{part.name}'.replace(' ', '_').replace('/', '_')
    work_dir, result_path = osp.join(work, tag), osp.join(work, f'{tag}.json')
    spec = dict(framework=part.framework, config=part.config, options=options, work_dir=work_dir,
                result=result_path, iters=args.iters, train_seconds=share['train_s'], amp=args.amp,
                channels_last=args.channels_last, workers=args.workers)
    env = dict(os.environ)
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    log_path = osp.join(work, f'{tag}.log')
    log(f'[{part.framework}] {part.name}: up to {args.iters} iterations / {share["train_s"]:.0f} s of training, '
        f'then evaluation (log: {log_path})', flush=True)
    t0 = time.monotonic()
    with open(log_path, 'w') as out:
        try:
            proc = subprocess.run([sys.executable, osp.abspath(__file__), '--child', json.dumps(spec)], cwd=REPO_ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT, timeout=share['kill_s'])
            code, reason = proc.returncode, ''
        except subprocess.TimeoutExpired:
            code, reason = None, f'killed after {share["kill_s"]:.0f} s (its share of --minutes plus a grace period)'
    wall = time.monotonic() - t0
    if code == 0 and osp.isfile(result_path):
        with open(result_path) as f:
            fields = json.load(f)
        fields.pop('log_dir', None)
        return PartResult(part, 'ok', wall_seconds=wall, **fields)
    if not reason:
        with open(log_path) as f:
            tail = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(tail) if 'Error' in ln or 'error:' in ln), tail[-1] if tail else '')
        how = f'killed by signal {-code}' if code is not None and code < 0 else f'exited {code}'
        reason = f'{how}: {cause} (see {log_path})'
    return PartResult(part, 'failed', reason=reason, wall_seconds=wall)


# --------------------------------------------------------------------------- main
def plan(args) -> list:
    overrides = dict(item.split('=', 1) for item in args.config)
    unknown = set(overrides) - set(FRAMEWORKS)
    if unknown:
        raise SystemExit(f'error: --config {sorted(unknown)}: the frameworks are {", ".join(FRAMEWORKS)}')
    parts = []
    for fw in args.frameworks:
        name, config = DEFAULT_MODELS[fw]
        if fw in overrides:
            config = overrides[fw]
            name = osp.splitext(osp.basename(config))[0]
        if not osp.isfile(osp.join(REPO_ROOT, config)):
            raise SystemExit(f'error: --config {fw}={config}: no such file')
        parts.append(Part(fw, name, config))
    return parts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minutes', type=float, default=8.0, help='time budget of the whole check (default %(default)s)')
    ap.add_argument('--iters', type=int, default=300, help='training iterations per model at most (default %(default)s)')
    ap.add_argument('--data', help='folder of raw datasets (wbc_zheng2018/, all_idb2/); default: synthetic data')
    ap.add_argument('--out', default='gpu_check.md', help='the markdown report (default %(default)s)')
    ap.add_argument('--work-dir', default='work_dirs/gpu_check')
    ap.add_argument('--device', choices=['cuda', 'cpu'], default='cuda',
                    help='cpu: the same check without a GPU (CI, or to compare); default cuda')
    ap.add_argument('--amp', choices=['fp16', 'bf16'], help='mixed precision for every model')
    ap.add_argument('--channels-last', action='store_true', help='NHWC weights (OpenMMLab models)')
    ap.add_argument('--workers', default='auto', help='data-loader workers per model, or auto (default)')
    ap.add_argument('--frameworks', nargs='+', choices=FRAMEWORKS, default=list(FRAMEWORKS))
    ap.add_argument('--config', nargs='+', default=[], metavar='FRAMEWORK=PATH', help='another config for a framework')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    if args.minutes <= 0 or args.iters < 2:
        ap.error('--minutes must be > 0 and --iters >= 2')
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('error: torch sees no CUDA device here (torch.cuda.is_available() is False); check the '
                         'driver and CUDA_VISIBLE_DEVICES, or run the check on the CPU with --device cpu')
    from mmengine_plugins.config import resolve_workers
    parts = plan(args)
    args.workers = resolve_workers(args.workers)
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    budget = Budget(args.minutes * 60, len(parts))
    print(f'GPU check: {len(parts)} model(s) within {args.minutes:g} min, device {args.device}', flush=True)
    data = prepare_data(args.data, osp.join(work, 'data'))
    results = []
    for part in parts:
        root, described = data[DATA_OF[part.framework]]
        part.data = described
        reason = why_not_runnable(part.framework, args.device)
        share = None if reason else budget.next_share()
        if reason:
            budget.skip()
            results.append(PartResult(part, 'skipped', reason=reason))
        elif share is None:
            results.append(PartResult(part, 'skipped', reason=f'time budget spent ({budget.remaining_s:.0f} s left '
                                                              f'of --minutes {args.minutes:g})'))
        else:
            results.append(run_part(part, data_options(part.framework, root), share, args, work))
        r = results[-1]
        print(f'  -> {r.status}' + (f': {r.reason}' if r.reason else f' ({r.iterations} iterations)'), flush=True)
    header = environment_lines(args.device) + [
        f'budget {args.minutes:g} min, used {(args.minutes * 60 - budget.remaining_s) / 60:.1f} min; up to '
        f'{args.iters} iterations per model; amp {args.amp or "off (fp32)"}; channels-last '
        f'{"on" if args.channels_last else "off"}; {args.workers} data-loader workers']
    report = format_report(results, header, shlex.join(['python', 'tools/gpu_check.py', *(argv or sys.argv[1:])]))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(report)
    with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump([dataclasses.asdict(r) for r in results], f, indent=1)
    print(report)
    print(f'report written to {args.out}')
    return 0 if all(r.status == 'ok' for r in results if r.status != 'skipped') else 1


if __name__ == '__main__':
    sys.exit(main())
