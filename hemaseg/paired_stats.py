"""Paired per-image comparison of two models (A and B) on the same test images.

Two folds give two numbers per model, too few to show anything; but both models scored every test
image, so the per-image scores are *paired*: every statistic here uses ``d_i = score_B(i) - score_A(i)``.

Inputs (:func:`read_scores`) are per-image CSV files paired by the exact value of their ``image``
column; a pair of files not covering the same images, a duplicated image, a missing column or
a score that is not a finite number is an error naming the file and the images: nothing is
dropped silently.

Assumptions and meaning:

* All assume the images are independent draws from the population the conclusion is about and
  a right pairing (same image, same ground truth). They compare two *trained models*, not the
  retraining variation (seed, fold): "B is better" means on images like these, not that method B is.
* Percentile bootstrap CI of the mean difference (Efron & Tibshirani 1993, *An Introduction
  to the Bootstrap*, Chapman & Hall, ch. 13): images resampled with replacement ``n_boot``
  times (``numpy.random.default_rng(seed)``, so reproducible); the CI is the central ``level``
  quantile interval of the resample means, a range for the mean difference on such images.
  If it contains 0, no difference is shown.
* Wilcoxon signed-rank test, two-sided (Wilcoxon 1945, Biometrics Bulletin 1(6):80-83,
  doi:10.2307/3001968), ``scipy.stats.wilcoxon(zero_method='wilcox')``: null hypothesis that
  the differences are symmetric about 0. Zero differences are dropped (Wilcoxon's choice);
  scipy's default ``method='auto'`` uses the exact null distribution for small samples, a
  normal approximation for large ones. If every difference is zero there is nothing to rank:
  p = 1.0 and ``wilcoxon_note`` says so.
* McNemar's test (McNemar 1947, Psychometrika 12:153-157, doi:10.1007/BF02295996) when every
  score is 0 or 1 (classification correctness), shown instead of Wilcoxon: only discordant
  images count, b = A right & B wrong, c = A wrong & B right; under the null each is equally
  likely, so the exact two-sided p is ``scipy.stats.binomtest(b, b + c, 0.5)``; p = 1 if b + c = 0.
* Wins / ties / losses: ``|d| <= tie_tolerance`` (default 0: exactly equal) is a tie, and a
  zero for the Wilcoxon test.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from scipy import stats

KINDS = ('seg', 'cls', 'det')
SEG_COUNT_COLUMNS = ('tp', 'fp', 'fn', 'tn')
CLS_LABEL_COLUMNS = ('true', 'predicted')
CLS_SCORE = 'correct'
DEFAULT_METRIC = {'seg': 'Dice', 'cls': CLS_SCORE, 'det': None}
BOOTSTRAP_CHUNK = 1000  # resamples drawn at a time, bounds memory to 1000 x n images


class PairedDataError(ValueError):
    """A per-image file cannot be read or the two files cannot be paired; the message names the file(s)."""


def _names(items, limit: int = 10) -> str:
    items = sorted(items)
    return ', '.join(items[:limit]) + (f' ... and {len(items) - limit} more' if len(items) > limit else '')


def read_csv(path: Union[str, Path]) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header and ``(line number, row)`` pairs of a CSV file with an ``image`` column; a ragged row is an error."""
    try:
        with open(path, newline='', encoding='utf-8-sig') as f:
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:  # missing, a folder, not UTF-8 text, not CSV
        raise PairedDataError(f'{path}: cannot read: {getattr(e, "strerror", None) or e}') from None
    header = [h.strip() for h in lines[0]] if lines else []
    if 'image' not in header:
        raise PairedDataError(f'{path}: no "image" column (header: {", ".join(header) or "none"})')
    rows = [(n, r) for n, r in enumerate(lines[1:], 2) if r]
    for n, r in rows:
        if len(r) != len(header):
            raise PairedDataError(f'{path}: line {n} has {len(r)} fields, the header has {len(header)}')
    if not rows:
        raise PairedDataError(f'{path}: no images (header only)')
    return header, [(n, dict(zip(header, r))) for n, r in rows]


def detect_kind(header: list[str]) -> str:
    """``seg`` if the header has tp/fp/fn/tn, ``cls`` if it has true/predicted, else ``det``."""
    return next((k for k, cols in (('seg', SEG_COUNT_COLUMNS), ('cls', CLS_LABEL_COLUMNS))
                 if all(c in header for c in cols)), 'det')


def read_scores(path: Union[str, Path], kind: Optional[str] = None,
                metric: Optional[str] = None) -> tuple[str, str, dict[str, float], dict[str, str]]:
    """``(kind, metric, {image: score}, {image: true label})`` of one file: ``seg`` = ``tools/test.py
    --per-image-csv`` (``image,tp,fp,fn,tn,Dice,IoU,...``; score Dice unless ``metric``), ``cls`` =
    ``ClassificationReport``'s ``predictions.csv`` (``image,true,predicted,p_<class>...``; score 1 if
    predicted == true else 0), ``det`` = ``image`` and the numeric column ``metric``; None: :func:`detect_kind`."""
    header, rows = read_csv(path)
    kind = kind or detect_kind(header)
    if kind not in KINDS:
        raise ValueError(f'unknown kind {kind!r}, expected one of {", ".join(KINDS)}')
    if kind == 'cls' and metric not in (None, CLS_SCORE):
        raise PairedDataError(f'{path}: classification is scored by correctness ({CLS_SCORE!r}), '
                              f'not by --metric {metric}')
    metric = metric or DEFAULT_METRIC[kind]
    if metric is None:
        raise PairedDataError(f'{path}: neither a segmentation (tp/fp/fn/tn) nor a classification (true/predicted) '
                              f'file; name the score column with --metric (header: {", ".join(header)})')
    missing = [c for c in (CLS_LABEL_COLUMNS if kind == 'cls' else (metric,)) if c not in header]
    if missing:
        raise PairedDataError(f'{path}: no {", ".join(missing)} column (header: {", ".join(header)})')
    scores, labels, dupes, bad = {}, {}, set(), []
    for n, row in rows:
        image = row['image'].strip()
        if not image:
            raise PairedDataError(f'{path}: line {n} has an empty image name')
        if image in scores:
            dupes.add(image)
        if kind == 'cls':
            labels[image] = row['true'].strip()
            scores[image] = float(row['predicted'].strip() == labels[image])
            continue
        try:
            scores[image] = float(row[metric])
        except ValueError:
            scores[image] = math.nan
        if not math.isfinite(scores[image]):
            bad.append(f'{image} ({row[metric]!r})')
    if dupes:
        raise PairedDataError(f'{path}: {len(dupes)} image(s) listed more than once: {_names(dupes)}')
    if bad:
        raise PairedDataError(f'{path}: {metric} is not a finite number for {len(bad)} image(s): {_names(bad)}')
    return kind, metric, scores, labels


def read_mean_scores(paths: Sequence[Union[str, Path]], kind: Optional[str] = None,
                     metric: Optional[str] = None) -> tuple[str, str, dict[str, float], dict[str, str]]:
    """:func:`read_scores` of several runs of one model (seeds) on the same test images: each image's
    score is its mean over the runs. Pairing these means (one value per image and model) keeps the
    images as the unit of the test and lets every seed count, instead of picking one. Refused for
    ``cls``: a mean of correctness is no longer right/wrong, which McNemar's test needs."""
    paths = list(paths)
    if len(paths) == 1:
        return read_scores(paths[0], kind, metric)
    runs = [read_scores(p, kind, metric) for p in paths]
    kinds = {r[0] for r in runs}
    if len(kinds) > 1:
        raise PairedDataError(f'{", ".join(map(str, paths))}: different kinds of file ({", ".join(sorted(kinds))})')
    if 'cls' in kinds:
        raise PairedDataError(f'{", ".join(map(str, paths))}: several classification runs cannot be averaged '
                              '(McNemar needs right/wrong per image); compare them one run at a time')
    first = runs[0][2]
    for path, (_, _, scores, _) in zip(paths[1:], runs[1:]):
        if scores.keys() != first.keys():
            diff = first.keys() ^ scores.keys()
            raise PairedDataError(f'{paths[0]} vs {path}: runs of one model cover different images '
                                  f'({len(diff)} differ: {_names(diff)})')
    mean = {i: float(np.mean([r[2][i] for r in runs])) for i in first}
    return runs[0][0], runs[0][1], mean, runs[0][3]


def pair_files(path_a, path_b, kind: Optional[str] = None, metric: Optional[str] = None):
    """``(kind, metric, images, scores_a, scores_b)`` of two files covering exactly the same images.
    ``path_a`` / ``path_b`` may each be a list of files, several runs of one model: see :func:`read_mean_scores`."""
    as_list = lambda p: list(p) if isinstance(p, (list, tuple)) else [p]  # noqa: E731
    kind_a, metric_a, a, labels_a = read_mean_scores(as_list(path_a), kind, metric)
    kind_b, _, b, labels_b = read_mean_scores(as_list(path_b), kind, metric)
    name_a, name_b = (', '.join(map(str, as_list(p))) for p in (path_a, path_b))
    if kind_a != kind_b:
        raise PairedDataError(f'{name_a} vs {name_b}: different kinds of file ({kind_a} vs {kind_b})')
    only_a, only_b = a.keys() - b.keys(), b.keys() - a.keys()
    if only_a or only_b:
        same_names = sorted(Path(i).name for i in a) == sorted(Path(i).name for i in b)
        hint = ' (the file names match: the paths differ only in their folders)' if same_names else ''
        where = '; '.join(f'{len(only)} only in {path} ({_names(only)})'
                          for only, path in ((only_a, name_a), (only_b, name_b)) if only)
        raise PairedDataError(f'{name_a} vs {name_b}: the files cover different images{hint}: {where}')
    images = sorted(a)
    disagree = [f'{i} ({labels_a[i]} vs {labels_b[i]})' for i in images if labels_a.get(i) != labels_b.get(i)]
    if disagree:
        raise PairedDataError(f'{name_a} vs {name_b}: the true labels disagree on {len(disagree)} '
                              f'image(s): {_names(disagree)}')
    return kind_a, metric_a, images, np.array([a[i] for i in images]), np.array([b[i] for i in images])


def paired_bootstrap_ci(diff, n_boot: int = 10000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of ``mean(diff)``, resampling the images with replacement (seeded)."""
    diff = np.asarray(diff, dtype=float)
    if diff.ndim != 1 or diff.size == 0 or int(n_boot) != n_boot or n_boot < 1 or not 0 < level < 1:
        raise ValueError(f'paired_bootstrap_ci: need a non-empty 1-D array of differences, a positive integer '
                         f'n_boot and 0 < level < 1, got shape {diff.shape}, n_boot={n_boot}, level={level}')
    rng = np.random.default_rng(seed)
    means = np.concatenate([diff[rng.integers(0, diff.size, (min(BOOTSTRAP_CHUNK, n_boot - start), diff.size))]
                            .mean(axis=1) for start in range(0, int(n_boot), BOOTSTRAP_CHUNK)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def wilcoxon_p(diff, tie_tolerance: float = 0.0) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p (zeros dropped) and a note; ``(1.0, why)`` when every difference is zero."""
    diff = np.where(np.abs(np.asarray(diff, dtype=float)) <= tie_tolerance, 0.0, diff)
    if not np.any(diff):
        return 1.0, 'all differences are zero: nothing to rank, p set to 1'
    return float(stats.wilcoxon(diff, zero_method='wilcox', alternative='two-sided').pvalue), ''


def mcnemar_exact(correct_a, correct_b) -> tuple[int, int, float]:
    """``(b, c, p)``: b = A right & B wrong, c = A wrong & B right, exact two-sided binomial p."""
    correct_a, correct_b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    b, c = int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))
    return b, c, (1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue))


@dataclass
class PairedComparison:
    """Everything :func:`format_line` prints; ``dataclasses.asdict`` of it is ``tools/compare.py --out``'s JSON."""
    name_a: str
    name_b: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float  # B - A
    ci_low: float
    ci_high: float
    difference_shown: bool  # the CI excludes 0
    level: float
    n_boot: int
    seed: int
    wilcoxon_p: float
    wilcoxon_note: str
    b_better: int
    ties: int
    b_worse: int
    tie_tolerance: float
    mcnemar_b: Optional[int] = None  # A right & B wrong (only for 0/1 scores)
    mcnemar_c: Optional[int] = None  # A wrong & B right
    mcnemar_p: Optional[float] = None
    lower_is_better: bool = False  # error counts (false positives): "better" is a smaller score


def compare(scores_a, scores_b, metric: str, names=('A', 'B'), n_boot: int = 10000, seed: int = 0,
            level: float = 0.95, tie_tolerance: float = 0.0, lower_is_better: bool = False) -> PairedComparison:
    """All paired statistics of B against A; McNemar too when every score is 0 or 1. The difference is
    always B - A; ``lower_is_better`` only decides which sign counts as B better (error counts)."""
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f'compare: need two equally long, non-empty 1-D score arrays, got {a.shape} and {b.shape}')
    diff = b - a
    low, high = paired_bootstrap_ci(diff, n_boot, seed, level)
    p, note = wilcoxon_p(diff, tie_tolerance)
    tie = np.abs(diff) <= tie_tolerance
    binary = bool(np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all())
    mc_b, mc_c, mc_p = mcnemar_exact(a, b) if binary else (None, None, None)
    return PairedComparison(
        name_a=str(names[0]), name_b=str(names[1]), metric=metric, n=int(a.size), mean_a=float(a.mean()),
        mean_b=float(b.mean()), mean_diff=float(diff.mean()), ci_low=low, ci_high=high,
        difference_shown=not low <= 0 <= high, level=level, n_boot=int(n_boot), seed=seed, wilcoxon_p=p,
        wilcoxon_note=note, b_better=int(np.sum(~tie & ((diff < 0) if lower_is_better else (diff > 0)))),
        ties=int(np.sum(tie)), b_worse=int(np.sum(~tie & ((diff > 0) if lower_is_better else (diff < 0)))),
        tie_tolerance=tie_tolerance, mcnemar_b=mc_b, mcnemar_c=mc_c, mcnemar_p=mc_p,
        lower_is_better=lower_is_better)


def _p(p: float) -> str:
    return f'{p:.4f}' if p >= 0.001 else f'{p:.1e}'


def format_line(r: PairedComparison) -> str:
    """One line to paste into docs; McNemar replaces Wilcoxon for 0/1 scores (its exact form there)."""
    line = (f'{r.name_b} - {r.name_a} ({r.metric}): mean {r.mean_diff:+.4f}, {r.level * 100:g} % bootstrap CI '
            f'[{r.ci_low:+.4f}, {r.ci_high:+.4f}] (n = {r.n} images, {r.n_boot:,} resamples, seed {r.seed}); ')
    if r.mcnemar_p is not None:
        line += (f'McNemar exact p = {_p(r.mcnemar_p)} ({r.name_a} right & {r.name_b} wrong {r.mcnemar_b}, '
                 f'{r.name_a} wrong & {r.name_b} right {r.mcnemar_c})')
    else:
        line += f'Wilcoxon signed-rank p = {_p(r.wilcoxon_p)}' + (f' ({r.wilcoxon_note})' if r.wilcoxon_note else '')
    line += (f'; {r.name_b} better / tie / worse: {r.b_better} / {r.ties} / {r.b_worse}'
             + (' (lower is better)' if r.lower_is_better else ''))
    return line + ('' if r.difference_shown else '; no difference shown')
