"""Clustering space analysis of classifier logits (spec 002 §2.6, Table 8 = spec §6.8).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Paper (Section 3.6): the test-set logits (N x K, K = 3 for ALL-L1/L2/L3) are reduced to two
dimensions with PCA; the samples are grouped by their *true* class; inter-class variance is the
Euclidean distance between class centroids, intra-class variance "the standard deviation of PC1
and PC2 within each cluster", and the "Dist/SD Ratio, a weighted ratio of 3-1 Distance/SD".

Choices where the paper is silent (spec §2.7 #11 and the [INFERENCE] of §2.6):

* Distances and SDs are measured in the PC1/PC2 plane (the space the paper plots), after
  PCA fitted on all test logits (centred, not whitened: sklearn ``PCA(n_components=2)``).
* Table 8's totals follow, within 2-decimal rounding on all four rows (``tests/hemaseg/test_cluster_analysis.py``):
  ``Dist Total = sum of the pairwise centroid distances``,
  ``SD Total = sqrt(sum_c SD_c^2)`` and ``Ratio = 3 * Dist Total / SD Total`` (the "3-1" weight).
  For K != 3 classes the same formulas are used (all K(K-1)/2 pairs, the weight stays 3).
* **One SD per cluster from the SDs of PC1 and PC2** (not printed separately in Table 8, so the
  table cannot decide it): ``SD_c = sqrt(SD_c(PC1)^2 + SD_c(PC2)^2)``, i.e. the root-mean-square
  Euclidean distance of the class's points to their centroid in the PC plane. It is in the same
  unit as the centroid distances, does not depend on how PCA orients the two axes within the
  plane, and combines the two axes the way SD Total combines the classes. The per-axis SDs are
  reported as well (``sd_pc1``, ``sd_pc2``) so any other combination can be formed.
* Population SD (``ddof=0``, numpy's default); ``ddof=1`` scales every SD by sqrt(n/(n-1)).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

RATIO_WEIGHT = 3.0  # "a weighted ratio of 3-1 Distance/SD" (spec §2.7 #11)


def ratio_from_table(dists: Sequence[float], sds: Sequence[float], weight: float = RATIO_WEIGHT) -> dict:
    """Table 8's totals from its per-pair distances and per-class SDs.

    ``{'dist_total': sum(dists), 'sd_total': sqrt(sum(sd^2)), 'ratio': weight * dist_total / sd_total}``.
    """
    dists = np.asarray(dists, float)
    sds = np.asarray(sds, float)
    if dists.ndim != 1 or sds.ndim != 1 or not len(dists) or not len(sds):
        raise ValueError(f'expected non-empty 1-D distances and SDs, got shapes {dists.shape} and {sds.shape}')
    if (dists < 0).any() or (sds < 0).any():
        raise ValueError('distances and SDs must be non-negative')
    dist_total = float(dists.sum())
    sd_total = float(np.sqrt(np.sum(sds ** 2)))
    ratio = weight * dist_total / sd_total if sd_total > 0 else float('inf')
    return {'dist_total': dist_total, 'sd_total': sd_total, 'ratio': float(ratio)}


def pca_2d(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N x 2 PC1/PC2 coordinates, explained variance ratio of PC1 and PC2)`` of ``logits`` (N x K)."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver='full')
    coords = pca.fit_transform(logits)
    return coords, pca.explained_variance_ratio_


def pair_name(a: str, b: str) -> str:
    return f'{a}–{b}'  # en dash as in Table 8 (class names may contain '-')


def cluster_report(logits: np.ndarray, labels: np.ndarray, class_names: Sequence[str], ddof: int = 0) -> dict:
    """The Table 8 row of one model from its test logits (module doc for every choice).

    ``logits``: N x K raw scores (before softmax); ``labels``: N true class indices in
    ``[0, K)``; ``class_names``: K names. Every class needs at least one sample (else its
    centroid, hence the table, is undefined).

    Returns a dict: ``classes``, ``counts`` {class: n}, ``explained_variance_ratio`` [PC1, PC2],
    ``centroids`` {class: [pc1, pc2]}, ``distances`` {'A–B': d} for every pair (i < j),
    ``sd_pc1`` / ``sd_pc2`` / ``sd`` {class: value}, ``dist_total``, ``sd_total``, ``ratio``,
    ``ddof``, and ``coords`` (N x 2 ndarray of PC1/PC2, for plots; not JSON-ready).
    """
    logits = np.asarray(logits, float)
    labels = np.asarray(labels)
    names = list(class_names)
    if logits.ndim != 2:
        raise ValueError(f'logits must be N x K, got shape {logits.shape}')
    n, k = logits.shape
    if k != len(names):
        raise ValueError(f'logits have {k} columns but {len(names)} class names were given')
    if k < 2:
        raise ValueError(f'need at least 2 classes for a 2-D PCA, got {k}')
    if labels.shape != (n,):
        raise ValueError(f'labels must have shape ({n},) like the logits\' rows, got {labels.shape}')
    if not np.all(np.isfinite(logits)):
        raise ValueError('logits contain NaN or infinite values')
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f'labels must be integers in [0, {k}), got values {np.unique(labels).tolist()}')
    absent = [names[c] for c in range(k) if not np.any(labels == c)]
    if absent:
        raise ValueError(f'no sample of class(es) {absent}: their centroid is undefined')
    if n < 2:
        raise ValueError('need at least 2 samples')

    coords, evr = pca_2d(logits)
    centroids, sd_pc1, sd_pc2, sd, counts = {}, {}, {}, {}, {}
    for c, name in enumerate(names):
        pts = coords[labels == c]
        counts[name] = int(len(pts))
        centroids[name] = pts.mean(axis=0)
        # a single sample has population SD 0; with ddof=1 it is undefined, reported as NaN
        s1, s2 = (float(np.std(pts[:, j], ddof=ddof)) if len(pts) > ddof else float('nan') for j in (0, 1))
        sd_pc1[name], sd_pc2[name] = s1, s2
        sd[name] = float(np.hypot(s1, s2))
    distances = {pair_name(names[i], names[j]): float(np.linalg.norm(centroids[names[i]] - centroids[names[j]]))
                 for i, j in combinations(range(k), 2)}
    totals = ratio_from_table(list(distances.values()), list(sd.values())) \
        if all(np.isfinite(v) for v in sd.values()) else {'dist_total': float(sum(distances.values())),
                                                            'sd_total': float('nan'), 'ratio': float('nan')}
    return {
        'classes': names,
        'counts': counts,
        'explained_variance_ratio': [float(v) for v in evr],
        'centroids': {name: [float(v) for v in c] for name, c in centroids.items()},
        'distances': distances,
        'sd_pc1': sd_pc1,
        'sd_pc2': sd_pc2,
        'sd': sd,
        **totals,
        'ddof': ddof,
        'coords': coords,
    }


def table8_markdown(rows: Mapping[str, dict]) -> str:
    """Table 8-style markdown: one row per ``{model name: cluster_report(...)}`` (same classes in all)."""
    if not rows:
        raise ValueError('no rows')
    first = next(iter(rows.values()))
    pairs = list(first['distances'])
    classes = first['classes']
    head = (['Model'] + [f'Dist {p}' for p in pairs] + ['Dist Total'] + [f'SD Cluster {c}' for c in classes]
            + ['SD Total', 'Ratio Dist/SD'])
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for model, r in rows.items():
        if list(r['distances']) != pairs:
            raise ValueError(f'row {model!r} has classes {r["classes"]}, the first row {classes}')
        cells = ([model] + [f'{r["distances"][p]:.2f}' for p in pairs] + [f'{r["dist_total"]:.2f}']
                 + [f'{r["sd"][c]:.2f}' for c in classes] + [f'{r["sd_total"]:.2f}', f'{r["ratio"]:.2f}'])
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def scatter_plot(path: str, report: dict, labels, title: str) -> None:
    """PC1/PC2 scatter of every sample coloured by true class, with the centroids (x) labelled."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    coords = report['coords']
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    for c, name in enumerate(report['classes']):
        pts = coords[labels == c]
        (line, ) = ax.plot(pts[:, 0], pts[:, 1], 'o', ms=4, alpha=0.6, label=f'{name} (n={len(pts)})')
        cx, cy = report['centroids'][name]
        ax.plot(cx, cy, 'X', ms=12, color=line.get_color(), markeredgecolor='black')
        ax.annotate(name, (cx, cy), textcoords='offset points', xytext=(6, 6), fontsize=9, weight='bold')
    evr = report['explained_variance_ratio']
    ax.set_xlabel(f'PC1 ({100 * evr[0]:.1f} % of variance)')
    ax.set_ylabel(f'PC2 ({100 * evr[1]:.1f} % of variance)')
    ax.set_title(f'{title}\nDist total {report["dist_total"]:.2f}, SD total {report["sd_total"]:.2f}, '
                 f'ratio {report["ratio"]:.2f}', fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
