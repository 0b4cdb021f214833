"""Clustering space analysis (spec 002 §2.6): Table 8's totals from its printed columns, and the
PCA / centroid / SD part against geometry known by construction and an independent numpy SVD."""
import math

import numpy as np
import pytest

from hemaseg.cluster_analysis import cluster_report, ratio_from_table, table8_markdown

# Table 8 (spec §6.8), verbatim: 3 distances, Dist Total, 3 SDs, SD Total, Ratio.
TABLE8 = {
    'SegmentedMish Medium': ((10.12, 8.22, 7.31), 25.65, (2.05, 0.68, 2.06), 2.99, 25.78),
    'Segmented ReLU Medium': ((6.60, 5.17, 3.65), 15.41, (1.09, 1.43, 0.66), 1.92, 24.12),
    'NoSegmented ReLU Linear': ((3.94, 3.34, 2.99), 10.27, (1.32, 1.60, 1.33), 2.46, 12.52),
    'NoSegmented Mish Linear': ((3.15, 2.08, 1.88), 7.11, (0.94, 1.49, 0.50), 1.83, 11.63),
}
# Every printed number is the true value rounded to 2 decimals: off by at most half a unit.
HALF = 0.005
EPS = 1e-9


def bounds(dists, sds):
    """Worst-case error of each derived total when its inputs are each off by up to HALF
    (first-order propagation; plus HALF for rounding the printed total itself)."""
    d, s = sum(dists), math.sqrt(sum(v * v for v in sds))
    dist_err = len(dists) * HALF                      # d(sum)/d(d_i) = 1
    sd_err = HALF * sum(sds) / s                       # d(sqrt(sum s^2))/d(s_i) = s_i / s
    return d, s, dist_err, sd_err


@pytest.mark.parametrize('model', list(TABLE8))
def test_table8_totals_follow_sum_rss_and_weight_3(model):
    dists, dist_total, sds, sd_total, ratio = TABLE8[model]
    d, s, dist_err, sd_err = bounds(dists, sds)
    got = ratio_from_table(dists, sds)
    # Dist Total = sum of the three distances
    assert got['dist_total'] == pytest.approx(d)
    assert abs(got['dist_total'] - dist_total) <= dist_err + HALF + EPS
    # SD Total = root of the sum of squared per-class SDs
    assert abs(got['sd_total'] - sd_total) <= sd_err + HALF + EPS
    # Ratio = 3 * Dist Total / SD Total, from the printed totals (each off by <= HALF) ...
    from_totals = 3 * dist_total / sd_total
    tol = from_totals * (HALF / dist_total + HALF / sd_total) + HALF
    assert abs(from_totals - ratio) <= tol + EPS
    # ... and along the whole chain from the printed columns
    tol_chain = got['ratio'] * (dist_err / d + sd_err / s) + HALF
    assert abs(got['ratio'] - ratio) <= tol_chain + EPS


def test_table8_rejects_other_readings_of_the_ratio():
    """The rounding tolerance is tight enough to rule out the obvious alternatives, so the
    test above can fail: without the weight 3, with SD Total as a plain or a mean sum of SDs."""
    def fits(total_fn, weight):
        for dists, dist_total, sds, sd_total, ratio in TABLE8.values():
            pred = weight * dist_total / total_fn(sds)
            if abs(pred - ratio) > pred * (HALF / dist_total + HALF * 3 / total_fn(sds)) + HALF:
                return False
        return True

    rss = lambda s: math.sqrt(sum(v * v for v in s))  # noqa: E731
    assert fits(rss, 3)
    assert not fits(rss, 1)
    assert not fits(sum, 3)
    assert not fits(lambda s: sum(s) / 3, 1)
    assert not fits(lambda s: math.sqrt(sum(v * v for v in s) / 3), 3)


def test_ratio_from_table_by_hand():
    got = ratio_from_table([3.0, 4.0, 5.0], [1.0, 2.0, 2.0])
    assert got == pytest.approx({'dist_total': 12.0, 'sd_total': 3.0, 'ratio': 12.0})
    with pytest.raises(ValueError, match='non-negative'):
        ratio_from_table([1.0, -1.0], [1.0])


def _plane_points():
    """3 classes whose centroids are 10 * e_c in 3-D; four points per class at centroid +- 2u,
    +- 2v with u, v orthonormal and in the centroids' plane. All points lie in one affine plane,
    so a 2-component PCA is an isometry of it: distances = 10 * sqrt(2), SD_c = RMS radius = 2."""
    centroids = 10 * np.eye(3)
    u = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
    v = np.array([1.0, 1.0, -2.0]) / math.sqrt(6)
    logits, labels = [], []
    for c in range(3):
        for off in (2 * u, -2 * u, 2 * v, -2 * v):
            logits.append(centroids[c] + off)
            labels.append(c)
    return np.array(logits), np.array(labels)


def test_known_geometry_in_the_plane():
    logits, labels = _plane_points()
    r = cluster_report(logits, labels, ['L1', 'L2', 'L3'])
    assert r['counts'] == {'L1': 4, 'L2': 4, 'L3': 4}
    assert sum(r['explained_variance_ratio']) == pytest.approx(1.0)
    assert list(r['distances']) == ['L1–L2', 'L1–L3', 'L2–L3']
    for d in r['distances'].values():
        assert d == pytest.approx(10 * math.sqrt(2))
    for c in ('L1', 'L2', 'L3'):
        assert r['sd'][c] == pytest.approx(2.0)  # RMS distance to the centroid: every point is 2 away
        assert r['sd'][c] == pytest.approx(math.hypot(r['sd_pc1'][c], r['sd_pc2'][c]))
    assert r['dist_total'] == pytest.approx(30 * math.sqrt(2))
    assert r['sd_total'] == pytest.approx(2 * math.sqrt(3))
    assert r['ratio'] == pytest.approx(3 * 30 * math.sqrt(2) / (2 * math.sqrt(3)))
    # sample SD (ddof=1) of 4 points: sqrt(4/3) larger
    r1 = cluster_report(logits, labels, ['L1', 'L2', 'L3'], ddof=1)
    assert r1['sd']['L1'] == pytest.approx(2.0 * math.sqrt(4 / 3))


def test_matches_an_independent_numpy_svd():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [7, 5, 9])
    means = np.array([[6.0, -2.0, -3.0], [-1.0, 5.0, -2.0], [-3.0, -1.0, 4.0]])
    logits = means[labels] + rng.normal(scale=[1.5, 0.7, 1.0], size=(len(labels), 3))
    r = cluster_report(logits, labels, ['a', 'b', 'c'])

    centred = logits - logits.mean(axis=0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    pc = centred @ vt[:2].T  # signs may differ from sklearn's: distances and SDs do not care
    assert np.allclose(np.abs(r['coords']), np.abs(pc))
    assert r['explained_variance_ratio'] == pytest.approx(list(sing[:2] ** 2 / np.sum(sing ** 2)))
    cents = [pc[labels == c].mean(axis=0) for c in range(3)]
    assert r['distances']['a–b'] == pytest.approx(np.linalg.norm(cents[0] - cents[1]))
    assert r['distances']['a–c'] == pytest.approx(np.linalg.norm(cents[0] - cents[2]))
    assert r['distances']['b–c'] == pytest.approx(np.linalg.norm(cents[1] - cents[2]))
    for c, name in enumerate('abc'):
        pts = pc[labels == c]
        s1 = math.sqrt(np.mean((pts[:, 0] - pts[:, 0].mean()) ** 2))
        s2 = math.sqrt(np.mean((pts[:, 1] - pts[:, 1].mean()) ** 2))
        assert r['sd_pc1'][name] == pytest.approx(s1)
        assert r['sd_pc2'][name] == pytest.approx(s2)
        assert r['sd'][name] == pytest.approx(math.sqrt(s1 ** 2 + s2 ** 2))
    md = table8_markdown({'m': r})
    assert md.splitlines()[0].startswith('| Model | Dist a–b | Dist a–c | Dist b–c | Dist Total | SD Cluster a')
    assert f'{r["ratio"]:.2f}' in md.splitlines()[2]


def test_bad_inputs_name_the_problem():
    logits, labels = _plane_points()
    with pytest.raises(ValueError, match=r"class\(es\) \['L3'\]"):
        cluster_report(logits[labels < 2], labels[labels < 2], ['L1', 'L2', 'L3'])
    with pytest.raises(ValueError, match='3 columns but 2 class names'):
        cluster_report(logits, labels, ['L1', 'L2'])
    with pytest.raises(ValueError, match='labels must be integers'):
        cluster_report(logits, labels + 1, ['L1', 'L2', 'L3'])
