"""K-fold cross-validation of an OpenMMLab config (``tools/cross_validate.py run``): what a config
says about its folds, the fingerprint that decides whether a fold's results may be reused, and
training and testing each fold with ``tools/train.py`` and ``tools/test.py`` (one process per run,
several folds at once with ``parallel``). The framework-free parts (summaries, reuse check,
t-test) are :mod:`hemaseg.cross_validation`."""
import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time

from hemaseg.cross_validation import DEFAULT_FOLDS, FINGERPRINT, reusable, subset_metrics, write_summary

from .config import FOLD_TEMPLATE, ann_file_slots, parse_cfg_options, resolve_fold

# The command lines each fold runs (this package sits beside tools/ in the repository).
TOOLS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')


def _read_config(config: str, cfg_options: list):
    """The config with ``cfg_options`` merged, ``{fold}`` templates not yet filled in."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(parse_cfg_options(cfg_options))
    return cfg


def inspect_config(config: str, cfg_options: list) -> dict:
    """What ``run`` needs to know about a config: its scope, its fold templates and folds on disk.

    Raises SystemExit when a dataloader/evaluator ``ann_file`` has no ``{fold}`` template
    (``fold=k`` would not change it) or when ``cfg_options`` set ``fold`` themselves.
    """
    if any(o.split('=', 1)[0].strip() == 'fold' for o in cfg_options):
        raise SystemExit('error: do not pass fold=K in --cfg-options; cross_validate.py sets it per fold '
                         '(choose folds with --folds)')
    cfg = _read_config(config, cfg_options)
    slots = list(ann_file_slots(cfg))
    fixed = [f"{key}={owner['ann_file']!r}" for key, owner in slots if FOLD_TEMPLATE not in owner['ann_file']]
    test = [(key, owner) for key, owner in slots
            if key.startswith('test_dataloader.') and FOLD_TEMPLATE in owner['ann_file']]
    if fixed or not test:
        shown = fixed or ['test_dataloader.dataset.ann_file (missing)']
        raise SystemExit(f"error: {config}: fold=k cannot select the data, because these ann_file paths have no "
                         f"'{FOLD_TEMPLATE}' template: {', '.join(shown)}; write them as e.g. "
                         f"'splits/fold{FOLD_TEMPLATE}_test.txt' (see configs/_base_/datasets/wbc_nucleus.py)")
    key, owner = test[0]
    test_path = osp.join(owner.get('data_root') or '', owner['ann_file'])
    on_disk = []
    while osp.isfile(test_path.replace(FOLD_TEMPLATE, str(len(on_disk)))):
        on_disk.append(len(on_disk))
    return {'scope': cfg.get('default_scope'), 'test_template': test_path, 'folds_on_disk': on_disk}


def effective_config_sha256(config: str, cfg_options: list, fold: int) -> str:
    """sha256 of the config as a fold's run sees it (bases, options and fold applied)."""
    cfg = _read_config(config, [*cfg_options, f'fold={fold}'])
    resolve_fold(cfg, config)
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def fingerprint(config: str, cfg_options: list, fold: int, run_options: list = ()) -> dict:
    """What must be equal for a fold's earlier ``test_metrics.json`` to be reused (the run options
    that change results, such as ``--amp``, included; a run without them keeps the old keys)."""
    with open(config, 'rb') as f:
        config_sha = hashlib.sha256(f.read()).hexdigest()
    found = {'config': osp.abspath(config), 'config_sha256': config_sha,
             'effective_config_sha256': effective_config_sha256(config, cfg_options, fold),
             'cfg_options': list(cfg_options), 'fold': fold}
    if run_options:
        found['run_options'] = list(run_options)
    return found


def _best_checkpoint(work_dir: str) -> str:
    """The checkpoint a fold tests: the newest ``best_*.pth`` of its (fresh) work dir, else the last one."""
    best = glob.glob(osp.join(work_dir, 'best_*.pth'))
    if best:  # the directory is fresh, so this run wrote them; the newest is the best so far
        return max(best, key=osp.getmtime)
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SystemExit(f'error: training wrote neither best_*.pth nor last_checkpoint in {work_dir}')
    with open(last) as f:
        return f.read().strip()


def run_fold(config: str, fold: int, work_dir: str, cfg_options: list, segmentation: bool = True,
             run_options: list = (), log_file: str | None = None) -> dict:
    """Train and test one fold in ``work_dir`` (or reuse its matching results); return its metrics.

    ``run_options``: options of tools/train.py and tools/test.py (``--amp bf16 --workers 2`` ...),
    part of the fingerprint when they change results. ``log_file``: where the fold's train / test
    output goes (folds running in parallel would interleave on the console)."""
    opts = ['--cfg-options', f'fold={fold}', *cfg_options]
    metrics_json = osp.join(work_dir, 'test_metrics.json')
    expected = fingerprint(config, cfg_options, fold, run_options)
    ok, why = reusable(work_dir, expected)
    if ok:
        print(f'[fold {fold}] reusing {metrics_json} (same config, options and fold)', flush=True)
    else:
        if osp.isdir(work_dir) and os.listdir(work_dir):
            # Never train into an old run's directory: its best_*.pth could be picked up.
            stale = base = f'{work_dir}.stale-{time.strftime("%Y%m%d-%H%M%S")}'
            for n in range(1, 1000):
                if not osp.exists(stale):
                    break
                stale = f'{base}-{n}'
            os.replace(work_dir, stale)
            print(f'[fold {fold}] not reusing {work_dir}: {why}; moved it to {stale} and training again',
                  flush=True)
        os.makedirs(work_dir, exist_ok=True)
        out = open(log_file, 'a') if log_file else None
        try:
            t0 = time.monotonic()
            subprocess.run([sys.executable, osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir, *run_options,
                            *opts], check=True, stdout=out, stderr=subprocess.STDOUT if out else None)
            extra = ['--per-image-csv', osp.join(work_dir, 'per_image.csv')] if segmentation else []
            test_options = [o for o in run_options if o != '--auto-scale-lr']
            subprocess.run([sys.executable, osp.join(TOOLS, 'test.py'), config, _best_checkpoint(work_dir),
                            '--work-dir', work_dir, *extra, *test_options, *opts], check=True, stdout=out,
                           stderr=subprocess.STDOUT if out else None)
        except subprocess.CalledProcessError as e:
            where = f'; its output is in {log_file}' if log_file else ''
            raise SystemExit(f'error: fold {fold}: {osp.basename(e.cmd[1])} exited {e.returncode}{where}') from None
        finally:
            if out:
                out.close()
        print(f'[fold {fold}] trained and tested in {time.monotonic() - t0:.0f} s', flush=True)
        with open(osp.join(work_dir, FINGERPRINT), 'w') as f:
            json.dump(expected, f, indent=2)
    with open(metrics_json) as f:
        return {k.split('/')[-1]: v for k, v in json.load(f).items()}


def run_folds(config: str, folds: list, work_dir: str, cfg_options: list, segmentation: bool, parallel: int = 1,
              run_options: list = (), subset_prefixes: list = ()) -> dict:
    """``{fold: metrics}`` of every fold, ``parallel`` of them at a time (one GPU runs several small
    trainings at once: one 256-px MSFF-SegNeXt run keeps an H200 about 1 % busy). In parallel each
    fold's output goes to ``<work_dir>/fold<k>.log``; a failing fold stops the run after the
    others that were already running finish."""
    from concurrent.futures import ThreadPoolExecutor

    def one(k):
        fold_dir = osp.join(work_dir, f'fold{k}')
        log_file = osp.join(fold_dir + '.log') if parallel > 1 else None
        if log_file:
            os.makedirs(osp.dirname(log_file), exist_ok=True)
            print(f'=== fold {k}: started, output in {log_file} ===', flush=True)
        metrics = run_fold(config, k, fold_dir, cfg_options, segmentation, run_options, log_file)
        if subset_prefixes:
            metrics.update(subset_metrics(osp.join(fold_dir, 'per_image.csv'), subset_prefixes))
        return metrics

    if parallel <= 1:
        per_fold = {}
        for i, k in enumerate(folds, 1):
            print(f'=== fold {k} ({i}/{len(folds)}) ===', flush=True)
            per_fold[k] = one(k)
        return per_fold
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {k: pool.submit(one, k) for k in folds}
        return {k: f.result() for k, f in futures.items()}


def run_options_of(args) -> list:
    """The options passed on to tools/train.py and tools/test.py of every fold."""
    opts = ['--amp', args.amp] if args.amp else []
    opts += ['--channels-last'] * args.channels_last + ['--cudnn-benchmark'] * args.cudnn_benchmark
    if args.workers is not None:
        opts += ['--workers', str(args.workers), '--processes', str(args.parallel)]
    return opts


def run_cross_validation(config: str, folds=None, work_dir=None, cfg_options=(), parallel: int = 1,
                         run_options=(), subset_prefixes=()) -> str:
    """``tools/cross_validate.py run``: train and test every fold of ``config`` (``folds``, default:
    those on disk, else 0-4) under ``work_dir`` (default ``work_dirs/cv/CONFIG_NAME``), write and
    print the summary; returns the path of ``cv_summary.json``. SystemExit says what is wrong with
    the arguments."""
    cfg_options = list(cfg_options)
    if not osp.isfile(config):
        sys.exit(f'error: config {config} does not exist')
    info = inspect_config(config, cfg_options)
    segmentation = info['scope'] == 'mmseg'
    if subset_prefixes and not segmentation:
        sys.exit(f"error: --subset-prefixes needs a segmentation (mmseg) config; {config} has "
                 f"default_scope={info['scope']!r}")
    if folds is None:
        folds = info['folds_on_disk'] or DEFAULT_FOLDS
        where = (f"found {info['test_template']} for fold {folds[0]}-{folds[-1]}" if info['folds_on_disk']
                 else f"no {info['test_template']} found; using the default rotation")
        print(f'folds {folds} ({where})', flush=True)
    if len(set(folds)) != len(folds):
        sys.exit(f'error: --folds lists a fold twice: {folds}')
    work_dir = work_dir or osp.join('work_dirs', 'cv', osp.splitext(osp.basename(config))[0])
    if parallel < 1:
        sys.exit(f'error: --parallel must be >= 1, got {parallel}')
    t0 = time.monotonic()
    per_fold = run_folds(config, folds, work_dir, cfg_options, segmentation, parallel, list(run_options),
                         list(subset_prefixes))
    print(f'{len(folds)} fold(s) in {time.monotonic() - t0:.0f} s ({parallel} at a time)', flush=True)
    path = write_summary(config, work_dir, per_fold)
    print(f'summary written to {path}')
    return path
