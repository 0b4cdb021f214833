"""K-fold cross-validation without a framework: which metrics a fold summary keeps, whether a
fold's earlier results may be reused (its fingerprint file), per-subset scores from a fold's
per-image counts, the mean and sample std over folds, the summary files, and the paper's Student
t-test between two runs (spec 000 §6.1, Table 4). Running the folds of an OpenMMLab config is
:mod:`mmengine_plugins.cross_validation`; the command line is ``tools/cross_validate.py``.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md)."""
import json
import math
import os.path as osp
import sys

import numpy as np

# Last path component of the metric keys summarized over folds: NucleusMetric (mmseg)
# and mmdet's CocoMetric ('coco/segm_mAP' ...). NucleusMetric's extra_predictions add
# '<name>_mDice' ... (e.g. 'nucleus/handcrafted_mDice'), also summarized (see reported).
SEG_METRICS = ('mDice', 'mIoU', 'mAccuracy', 'mPrecision', 'mRecall', 'mSpecificity', 'Dice', 'IoU', 'Accuracy',
               'Precision', 'Recall', 'Specificity')
COCO_METRICS = tuple(f'{t}_{m}' for t in ('segm', 'bbox') for m in ('mAP', 'mAP_50', 'mAP_75'))
REPORTED = SEG_METRICS + COCO_METRICS
DEFAULT_FOLDS = list(range(5))  # the converters' default 5-fold rotation
FINGERPRINT = 'cv_fingerprint.json'


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



def reported(key: str) -> bool:
    """Whether ``summarize`` keeps a metric key: a REPORTED name, or ``<prediction>_<SEG_METRICS name>``."""
    last = key.split('/')[-1]
    return last in REPORTED or ('_' in last and last.rsplit('_', 1)[1] in SEG_METRICS)


def summarize(per_fold: dict) -> dict:
    """Mean and sample std (ddof=1) over folds of every reported, numeric metric all folds have."""
    first = next(iter(per_fold.values()))
    names = [n for n in first if reported(n)
             and all(isinstance(m.get(n), (int, float)) and not isinstance(m.get(n), bool) for m in per_fold.values())]
    out = {}
    for n in names:
        vals = np.array([m[n] for m in per_fold.values()], float)
        out[n] = dict(mean=float(vals.mean()), std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                      folds=vals.tolist())
    return out


def write_summary(config: str, work_dir: str, per_fold: dict) -> str:
    """Write ``cv_summary.json`` and ``cv_summary.md`` (mean ± std and every fold's value of each
    reported metric) to ``work_dir``, print the table and return the JSON's path."""
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


def print_comparison(path_a: str, path_b: str) -> None:
    """Print the t-test table of two ``cv_summary.json`` files (A = baseline, Group 1; B = Group 2),
    with a warning when their folds differ; SystemExit names a missing file."""
    summaries = []
    for path in (path_a, path_b):
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
