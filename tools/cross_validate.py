"""Three-fold cross-validation of a segmentation config, and the paper's t-test.

    python tools/cross_validate.py run CONFIG [--folds 0 1 2] [--work-dir DIR] [--cfg-options ...]
    python tools/cross_validate.py compare A/cv_summary.json B/cv_summary.json

``run`` trains and tests every fold (fold k uses ``splits/fold{k}_{train,val,test}.txt``
of the config's data root), testing the checkpoint that scored best on the fold's
validation split, and writes ``cv_summary.json`` and ``cv_summary.md`` (mean +/- std
over folds of every metric). ``--subset-prefixes d1 d2`` also scores the images whose file names start with each
prefix separately (e.g. the two WBC sub-datasets). ``compare`` runs the independent two-sample Student
t-test over fold values that reproduces the paper's Table 4 (spec 000 §6.1).
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np

TOOLS = osp.dirname(osp.abspath(__file__))
REPORTED = ('mDice', 'mIoU', 'mAccuracy', 'mPrecision', 'mRecall', 'Dice', 'IoU', 'Accuracy', 'Precision',
            'Recall')


def fold_overrides(fold: int) -> list:
    return [f'{loader}.dataset.ann_file=splits/fold{fold}_{split}.txt'
            for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                                  ('test_dataloader', 'test'))]


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


def run_fold(config: str, fold: int, work_dir: str, cfg_options: list) -> dict:
    opts = ['--cfg-options', *fold_overrides(fold), *cfg_options]
    metrics_json = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(metrics_json):
        print(f'[fold {fold}] reusing {metrics_json}')
    else:
        subprocess.run([sys.executable, osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir, *opts],
                       check=True)
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
        ckpt = best[-1] if best else open(osp.join(work_dir, 'last_checkpoint')).read().strip()
        subprocess.run([sys.executable, osp.join(TOOLS, 'test.py'), config, ckpt, '--work-dir', work_dir,
                        '--per-image-csv', osp.join(work_dir, 'per_image.csv'), *opts], check=True)
    with open(metrics_json) as f:
        return {k.split('/')[-1]: v for k, v in json.load(f).items()}


def summarize(per_fold: dict) -> dict:
    first = next(iter(per_fold.values()))
    names = [n for n in first if n.split('/')[-1] in REPORTED and all(n in m for m in per_fold.values())]
    out = {}
    for n in names:
        vals = np.array([m[n] for m in per_fold.values()], float)
        out[n] = dict(mean=float(vals.mean()), std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                      folds=vals.tolist())
    return out


def write_summary(config: str, work_dir: str, per_fold: dict) -> str:
    summary = dict(config=config, folds=sorted(per_fold), metrics=summarize(per_fold))
    path = osp.join(work_dir, 'cv_summary.json')
    with open(path, 'w') as f:
        json.dump(summary, f, indent=2)
    lines = ['| metric | mean ± std | ' + ' | '.join(f'fold {k}' for k in sorted(per_fold)) + ' |',
             '|---|---|' + '---|' * len(per_fold)]
    for n, s in summary['metrics'].items():
        lines.append(f"| {n} | {s['mean']:.4f} ± {s['std']:.4f} | " + ' | '.join(f'{v:.4f}' for v in s['folds']) + ' |')
    with open(osp.join(work_dir, 'cv_summary.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return path


def t_test(a: dict, b: dict) -> list:
    """Student t-test (equal variances) of B against A for every common metric."""
    from scipy.stats import ttest_ind
    rows = []
    for n in a['metrics']:
        if n not in b['metrics']:
            continue
        xa, xb = a['metrics'][n]['folds'], b['metrics'][n]['folds']
        t, p = ttest_ind(xa, xb, equal_var=True)
        rows.append((n, a['metrics'][n], b['metrics'][n], float(t), float(p)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('config')
    r.add_argument('--folds', type=int, nargs='+', default=[0, 1, 2])
    r.add_argument('--work-dir')
    r.add_argument('--cfg-options', nargs='+', default=[])
    r.add_argument('--subset-prefixes', nargs='+', default=[],
                   help='also score images named <prefix>_* separately, e.g. d1 d2 for the WBC sub-datasets')
    c = sub.add_parser('compare')
    c.add_argument('a', help='cv_summary.json of the baseline (Group 1)')
    c.add_argument('b', help='cv_summary.json of the new model (Group 2)')
    args = ap.parse_args()

    if args.cmd == 'run':
        if not osp.isfile(args.config):
            sys.exit(f'error: config {args.config} does not exist')
        work_dir = args.work_dir or osp.join('work_dirs', 'cv', osp.splitext(osp.basename(args.config))[0])
        per_fold = {}
        for k in args.folds:
            print(f'=== fold {k} ({args.folds.index(k) + 1}/{len(args.folds)}) ===', flush=True)
            fold_dir = osp.join(work_dir, f'fold{k}')
            per_fold[k] = run_fold(args.config, k, fold_dir, args.cfg_options)
            if args.subset_prefixes:
                per_fold[k].update(subset_metrics(osp.join(fold_dir, 'per_image.csv'), args.subset_prefixes))
        print(f'summary written to {write_summary(args.config, work_dir, per_fold)}')
    else:
        summaries = []
        for path in (args.a, args.b):
            if not osp.isfile(path):
                sys.exit(f'error: {path} does not exist')
            with open(path) as f:
                summaries.append(json.load(f))
        print(f"Group 1: {summaries[0]['config']}\nGroup 2: {summaries[1]['config']}")
        print('| metric | Group 1 | Group 2 | t | p |\n|---|---|---|---|---|')
        for n, sa, sb, t, p in t_test(*summaries):
            stars = '**' if p < 0.01 else '*' if p < 0.05 else ''
            print(f"| {n} | {sa['mean']:.4f} ± {sa['std']:.4f} | {sb['mean']:.4f} ± {sb['std']:.4f} | "
                  f'{t:.3f} | {p:.4f}{stars} |')


if __name__ == '__main__':
    main()
