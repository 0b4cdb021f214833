"""K-fold cross-validation of an OpenMMLab config, and the paper's t-test.

    python tools/cross_validate.py run CONFIG [--folds K ...] [--work-dir DIR] [--cfg-options ...]
    python tools/cross_validate.py run CONFIG --parallel 5 --amp bf16 --workers auto     # 5 folds at once on a GPU
    python tools/cross_validate.py compare A/cv_summary.json B/cv_summary.json

``run`` trains and tests every fold and writes ``cv_summary.json`` and ``cv_summary.md``
(mean +/- sample std over folds of every reported metric). Fold k is selected with
``--cfg-options fold=k``: the configs write their split paths as ``{fold}`` templates
(``splits/fold{fold}_train.txt``, ``annotations/fold{fold}_test.json`` and the COCO
evaluators' files), which mmengine_plugins.config.resolve_fold fills in, so every path of the run names fold k.
A config whose dataloader or evaluator ``ann_file`` has no template is refused: ``fold=k``
would not change what it reads. Default folds: every fold the data root holds (the test
split files fold0, fold1, ... until one is missing), else 0-4.
Each fold tests the checkpoint that scored best on the fold's validation split.
Segmentation (mmseg) configs report the nucleus metrics (``mDice`` ...), detection (mmdet)
configs COCO AP (``segm_mAP`` ...); ``--subset-prefixes d1 d2`` (mmseg only) also scores
the images whose file names start with each prefix separately (e.g. the two WBC sub-datasets).

A fold's ``test_metrics.json`` is reused only when ``cv_fingerprint.json`` beside it matches
exactly (config path, sha256 of the config file, sha256 of the effective config after
options, the options, the fold); otherwise the fold's old directory is moved aside and the
fold is trained again, so results of another config or other options are never mixed in.

``compare`` runs the independent two-sample Student t-test (equal variances) over the fold
values, the test that reproduces the paper's Table 4 (spec 000 §6.1).
"""
import argparse
import glob
import hashlib
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

from mmengine_plugins.config import FOLD_TEMPLATE, ann_file_slots, parse_cfg_options, resolve_fold

TOOLS = osp.dirname(osp.abspath(__file__))
# Last path component of the metric keys summarized over folds: NucleusMetric (mmseg)
# and mmdet's CocoMetric ('coco/segm_mAP' ...). NucleusMetric's extra_predictions add
# '<name>_mDice' ... (e.g. 'nucleus/handcrafted_mDice'), also summarized (see _reported).
SEG_METRICS = ('mDice', 'mIoU', 'mAccuracy', 'mPrecision', 'mRecall', 'mSpecificity', 'Dice', 'IoU', 'Accuracy',
               'Precision', 'Recall', 'Specificity')
COCO_METRICS = tuple(f'{t}_{m}' for t in ('segm', 'bbox') for m in ('mAP', 'mAP_50', 'mAP_75'))
REPORTED = SEG_METRICS + COCO_METRICS
DEFAULT_FOLDS = list(range(5))  # the converters' default 5-fold rotation
FINGERPRINT = 'cv_fingerprint.json'


# --------------------------------------------------------------------------- config inspection

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


def reusable(fold_dir: str, expected: dict) -> tuple:
    """``(True, '')`` if ``fold_dir`` holds metrics made with ``expected``; else ``(False, why)``."""
    metrics_json, fp_json = osp.join(fold_dir, 'test_metrics.json'), osp.join(fold_dir, FINGERPRINT)
    if not osp.isfile(metrics_json):
        return False, 'no test_metrics.json'
    if not osp.isfile(fp_json):
        return False, f'{metrics_json} has no {FINGERPRINT} (made by an older version or by hand)'
    try:
        with open(fp_json) as f:
            found = json.load(f)
    except (OSError, ValueError) as e:
        return False, f'{fp_json} is unreadable ({e})'
    if found != expected:
        keys = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
        return False, f'{fp_json} differs in {", ".join(keys)}'
    return True, ''


# --------------------------------------------------------------------------- running folds

def subset_metrics(per_image_csv: str, prefixes: list) -> dict:
    """Pooled and per-image-mean scores of the images whose names start with ``<prefix>_``."""
    import csv

    from hemaseg.metrics import ConfusionCounts, summarize
    with open(per_image_csv) as f:
        rows = list(csv.DictReader(f))
    out = {}
    for prefix in prefixes:
        counts = [ConfusionCounts(*(int(r[k]) for k in ('tp', 'fp', 'fn', 'tn')))
                  for r in rows if r['image'].startswith(prefix + '_')]
        if not counts:
            raise SystemExit(f'error: no image of {per_image_csv} starts with {prefix}_')
        out.update({f'{prefix}/{k}': v for k, v in summarize(counts).items()})
    return out


def _best_checkpoint(work_dir: str) -> str:
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


def _reported(key: str) -> bool:
    """Whether ``summarize`` keeps a metric key: a REPORTED name, or ``<prediction>_<SEG_METRICS name>``."""
    last = key.split('/')[-1]
    return last in REPORTED or ('_' in last and last.rsplit('_', 1)[1] in SEG_METRICS)


def summarize(per_fold: dict) -> dict:
    """Mean and sample std (ddof=1) over folds of every reported, numeric metric all folds have."""
    first = next(iter(per_fold.values()))
    names = [n for n in first if _reported(n)
             and all(isinstance(m.get(n), (int, float)) and not isinstance(m.get(n), bool) for m in per_fold.values())]
    out = {}
    for n in names:
        vals = np.array([m[n] for m in per_fold.values()], float)
        out[n] = dict(mean=float(vals.mean()), std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                      folds=vals.tolist())
    return out


def write_summary(config: str, work_dir: str, per_fold: dict) -> str:
    metrics = summarize(per_fold)
    summary = dict(config=config, folds=sorted(per_fold), metrics=metrics)
    if not metrics:
        keys = sorted(set().union(*per_fold.values()))
        summary['unreported_keys'] = keys
        print(f'warning: none of the test metrics is one this tool summarizes ({", ".join(REPORTED)}); '
              f'keys found: {", ".join(keys)}', file=sys.stderr)
    path = osp.join(work_dir, 'cv_summary.json')
    with open(path, 'w') as f:
        json.dump(summary, f, indent=2)
    lines = ['| metric | mean ± std | ' + ' | '.join(f'fold {k}' for k in sorted(per_fold)) + ' |',
             '|---|---|' + '---|' * len(per_fold)]
    for n, s in metrics.items():
        lines.append(f"| {n} | {s['mean']:.4f} ± {s['std']:.4f} | " + ' | '.join(f'{v:.4f}' for v in s['folds']) + ' |')
    with open(osp.join(work_dir, 'cv_summary.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return path


# --------------------------------------------------------------------------- t-test

def student_t_test(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int) -> tuple:
    """Two-sided independent two-sample Student t-test with pooled variance, from summary stats.

    ``t = (mean1 - mean2) / sqrt(s_p^2 (1/n1 + 1/n2))``, ``s_p^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1+n2-2)``,
    ``p = 2 P(T_{n1+n2-2} > |t|)``; ``sd`` are sample standard deviations (ddof=1). This is the
    test that reproduces spec 000 §6.4 Table 4 from the paper's means and SDs with n = 3
    folds per group (§6.1). Returns ``(t, p)``; ``(nan, nan)`` if both groups are constant
    and equal.
    """
    from scipy.stats import t as student_t
    df = n1 + n2 - 2
    if n1 < 1 or n2 < 1 or df < 1:
        raise ValueError(f'the t-test needs n1, n2 >= 1 and n1 + n2 >= 3, got n1={n1}, n2={n2}')
    pooled_var = ((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2) / df
    se = math.sqrt(pooled_var * (1 / n1 + 1 / n2))
    diff = mean1 - mean2
    if se == 0:
        return (math.nan, math.nan) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    t = diff / se
    return t, float(2 * student_t.sf(abs(t), df))


def t_test(a: dict, b: dict) -> list:
    """Student t-test (equal variances) of A against B for every metric both summaries have.

    Rows ``(name, stats_a, stats_b, t, p)``; t < 0 means B scored higher. Uses the fold
    values (mean and sample std recomputed from them, n = number of folds).
    """
    rows = []
    for n in a['metrics']:
        if n not in b['metrics']:
            continue
        xa, xb = (np.asarray(s['metrics'][n]['folds'], float) for s in (a, b))
        t, p = student_t_test(xa.mean(), xa.std(ddof=1) if len(xa) > 1 else 0.0, len(xa),
                              xb.mean(), xb.std(ddof=1) if len(xb) > 1 else 0.0, len(xb))
        rows.append((n, a['metrics'][n], b['metrics'][n], float(t), float(p)))
    return rows


# --------------------------------------------------------------------------- command line

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('config')
    r.add_argument('--folds', type=int, nargs='+',
                   help='folds to run (default: every fold whose test split exists under the data root, else 0-4)')
    r.add_argument('--work-dir')
    r.add_argument('--cfg-options', nargs='+', default=[])
    r.add_argument('--parallel', type=int, default=1,
                   help='folds trained at the same time (one GPU runs several small trainings; default 1)')
    r.add_argument('--amp', choices=['fp16', 'bf16'], help='mixed precision of tools/train.py and tools/test.py')
    r.add_argument('--channels-last', action='store_true')
    r.add_argument('--cudnn-benchmark', action='store_true')
    r.add_argument('--workers', help="data-loader workers per fold, or auto (the cores shared among --parallel folds)")
    r.add_argument('--subset-prefixes', nargs='+', default=[],
                   help='also score images named <prefix>_* separately, e.g. d1 d2 for the WBC sub-datasets (mmseg)')
    c = sub.add_parser('compare')
    c.add_argument('a', help='cv_summary.json of the baseline (Group 1)')
    c.add_argument('b', help='cv_summary.json of the new model (Group 2)')
    args = ap.parse_args()

    if args.cmd == 'run':
        if not osp.isfile(args.config):
            sys.exit(f'error: config {args.config} does not exist')
        info = inspect_config(args.config, args.cfg_options)
        segmentation = info['scope'] == 'mmseg'
        if args.subset_prefixes and not segmentation:
            sys.exit(f"error: --subset-prefixes needs a segmentation (mmseg) config; {args.config} has "
                     f"default_scope={info['scope']!r}")
        folds = args.folds
        if folds is None:
            folds = info['folds_on_disk'] or DEFAULT_FOLDS
            where = (f"found {info['test_template']} for fold {folds[0]}-{folds[-1]}" if info['folds_on_disk']
                     else f"no {info['test_template']} found; using the default rotation")
            print(f'folds {folds} ({where})', flush=True)
        if len(set(folds)) != len(folds):
            sys.exit(f'error: --folds lists a fold twice: {folds}')
        work_dir = args.work_dir or osp.join('work_dirs', 'cv', osp.splitext(osp.basename(args.config))[0])
        if args.parallel < 1:
            sys.exit(f'error: --parallel must be >= 1, got {args.parallel}')
        run_options = run_options_of(args)
        t0 = time.monotonic()
        per_fold = run_folds(args.config, folds, work_dir, args.cfg_options, segmentation, args.parallel, run_options,
                             args.subset_prefixes)
        print(f'{len(folds)} fold(s) in {time.monotonic() - t0:.0f} s ({args.parallel} at a time)', flush=True)
        print(f'summary written to {write_summary(args.config, work_dir, per_fold)}')
    else:
        summaries = []
        for path in (args.a, args.b):
            if not osp.isfile(path):
                sys.exit(f'error: {path} does not exist')
            with open(path) as f:
                summaries.append(json.load(f))
        a, b = summaries
        print(f"Group 1: {a['config']} (folds {a['folds']})\nGroup 2: {b['config']} (folds {b['folds']})")
        if a['folds'] != b['folds']:
            print('warning: the two runs used different folds, so their test sets differ', file=sys.stderr)
        print('Student t-test, equal variances, n = number of folds per group. It assumes independent, '
              'normally distributed fold scores; folds share training images, so they are not independent '
              'and p is optimistic.')
        print('| metric | Group 1 | Group 2 | t | p |\n|---|---|---|---|---|')
        for n, sa, sb, t, p in t_test(a, b):
            stars = '**' if p < 0.01 else '*' if p < 0.05 else ''
            print(f"| {n} | {sa['mean']:.4f} ± {sa['std']:.4f} | {sb['mean']:.4f} ± {sb['std']:.4f} | "
                  f'{t:.3f} | {p:.4f}{stars} |')


if __name__ == '__main__':
    main()
