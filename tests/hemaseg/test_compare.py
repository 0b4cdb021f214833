"""hemaseg.paired_stats and tools/compare.py against hand-computed cases (worked out in the comments)."""
import json
import os.path as osp

import numpy as np
import pytest

from conftest import REPO_ROOT, run_tool
from hemaseg.paired_stats import (PairedDataError, compare, format_line, mcnemar_exact, pair_files,
                                  paired_bootstrap_ci, wilcoxon_p)

TOOL = osp.join(REPO_ROOT, 'tools', 'compare.py')
SEG_HEADER = 'image,tp,fp,fn,tn,Dice,IoU,Accuracy,Precision,Recall,Specificity'


def write_seg(path, dice: dict) -> str:
    """A ``--per-image-csv`` file (NucleusMetric's header) with the given Dice per image."""
    rows = [f'{image},10,1,2,50,{d},{d / (2 - d):.6f},0.9,0.9,0.9,0.9' for image, d in dice.items()]
    path.write_text('\n'.join([SEG_HEADER, *rows]) + '\n')
    return str(path)


def write_cls(path, rows) -> str:
    """A ClassificationReport ``predictions.csv``: image path, true, predicted, p_<class>."""
    lines = ['image,true,predicted,p_ALL,p_normal']
    lines += [f'/data/all_idb2/test/{image},{true},{pred},0.5,0.5' for image, true, pred in rows]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


# Five images, A and B Dice; differences B - A:
#   img1 0.85-0.80 = +0.05   B better
#   img2 0.70-0.70 =  0      tie
#   img3 0.80-0.90 = -0.10   B worse
#   img4 0.75-0.60 = +0.15   B better
#   img5 0.55-0.50 = +0.05   B better
# mean = (0.05 + 0 - 0.10 + 0.15 + 0.05) / 5 = 0.15 / 5 = +0.03; better / tie / worse = 3 / 1 / 1
DICE_A = {'img1.png': 0.80, 'img2.png': 0.70, 'img3.png': 0.90, 'img4.png': 0.60, 'img5.png': 0.50}
DICE_B = {'img1.png': 0.85, 'img2.png': 0.70, 'img3.png': 0.80, 'img4.png': 0.75, 'img5.png': 0.55}


def test_five_image_case_mean_and_wins_ties_losses():
    r = compare(list(DICE_A.values()), list(DICE_B.values()), 'Dice', n_boot=2000)
    assert r.mean_diff == pytest.approx(0.03)
    assert (r.mean_a, r.mean_b) == (pytest.approx(0.70), pytest.approx(0.73))
    assert (r.b_better, r.ties, r.b_worse) == (3, 1, 1)
    assert r.ci_low <= r.mean_diff <= r.ci_high
    # a tolerance of 0.06 also makes the two +0.05 images ties: better / tie / worse = 1 / 3 / 1
    r = compare(list(DICE_A.values()), list(DICE_B.values()), 'Dice', n_boot=100, tie_tolerance=0.06)
    assert (r.b_better, r.ties, r.b_worse) == (1, 3, 1)


def test_error_counts_lower_is_better_flips_only_the_wins():
    # false positives per field, A then B: B - A = -2, 0, +1, -1 -> with lower better: B better 2, tie 1, worse 1
    a, b = [3, 1, 0, 2], [1, 1, 1, 1]
    r = compare(a, b, 'false_positives', names=('single', 'fields'), n_boot=500, lower_is_better=True)
    assert r.mean_diff == pytest.approx(-0.5) and (r.b_better, r.ties, r.b_worse) == (2, 1, 1)
    assert format_line(r).endswith('fields better / tie / worse: 2 / 1 / 1 (lower is better); no difference shown')
    same = compare(a, b, 'false_positives', n_boot=500)
    assert (same.b_better, same.ties, same.b_worse) == (1, 1, 2) and same.mean_diff == r.mean_diff


def test_wilcoxon_exact_small_cases():
    # n = 5, all positive: W- = 0; of the 2^5 = 32 equally likely sign patterns only "all +" gives
    # W- = 0, so P(W- <= 0) = 1/32 and the two-sided p = 2/32 = 0.0625
    assert wilcoxon_p([1, 2, 3, 4, 5])[0] == pytest.approx(2 / 32)
    # ranks 1..5, only rank 5 negative: W- = 5. Subsets of {1..5} with sum <= 5: {}, {1}, {2}, {3},
    # {4}, {5}, {1,2}, {1,3}, {1,4}, {2,3} = 10, so p = 2 * 10/32 = 0.625
    assert wilcoxon_p([1, 2, 3, 4, -5])[0] == pytest.approx(20 / 32)
    # zero differences are dropped (zero_method='wilcox'): the same p as without the zero
    # (Pratt's method would rank the zero, shifting the others to ranks 2..6: p = 0.5)
    assert wilcoxon_p([0, 1, 2, 3, 4, 5])[0] == pytest.approx(2 / 32)
    assert wilcoxon_p([0, 1, 2, 3, 4, -5])[0] == pytest.approx(20 / 32)


def test_wilcoxon_all_zero_differences_gives_p_one_and_says_so():
    p, note = wilcoxon_p([0.0, 0.0, 0.0])
    assert p == 1.0 and 'all differences are zero' in note
    # with a tolerance, differences up to and including it count as zero too
    assert wilcoxon_p([0.001, -0.002], tie_tolerance=0.005) == (1.0, note)
    assert wilcoxon_p([1.0, -2.0], tie_tolerance=2.0) == (1.0, note)
    r = compare([0.5, 0.6], [0.5, 0.6], 'Dice', n_boot=100)
    assert (r.wilcoxon_p, r.ties, r.ci_low, r.ci_high) == (1.0, 2, 0.0, 0.0)
    assert 'all differences are zero' in format_line(r) and format_line(r).endswith('no difference shown')


def test_mcnemar_exact_b8_c2():
    # 8 images A right & B wrong (b), 2 A wrong & B right (c), 5 both right, 3 both wrong.
    # Exact two-sided binomial p with n = b + c = 10: 2 * P(X <= 2) = 2 * (1 + 10 + 45) / 1024 = 0.109375
    a = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 3
    b = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 3
    assert mcnemar_exact(a, b) == (8, 2, pytest.approx(0.109375))
    assert mcnemar_exact(b, a) == (2, 8, pytest.approx(0.109375))
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == (0, 0, 1.0)  # no discordant image
    r = compare(a, b, 'correct', n_boot=500)
    # accuracy A = 13/18, B = 7/18: B - A = -6/18; McNemar replaces Wilcoxon in the line
    assert r.mean_diff == pytest.approx(-6 / 18) and r.mcnemar_p == pytest.approx(0.109375)
    assert 'McNemar exact p = 0.1094 (A right & B wrong 8, A wrong & B right 2)' in format_line(r)
    assert 'Wilcoxon' not in format_line(r)


def test_bootstrap_reproducible_contains_mean_and_collapses():
    diff = np.array([0.05, 0.0, -0.10, 0.15, 0.05, 0.02, -0.01, 0.08])
    ci = paired_bootstrap_ci(diff, n_boot=3000, seed=7)
    assert ci == paired_bootstrap_ci(diff, n_boot=3000, seed=7)
    assert ci != paired_bootstrap_ci(diff, n_boot=3000, seed=8)
    assert ci[0] < diff.mean() < ci[1]
    assert paired_bootstrap_ci(np.full(6, 0.1), n_boot=500) == (pytest.approx(0.1), pytest.approx(0.1))
    # diff = [0, 1]: a resample's mean is 0, 0.5 or 1 with probability 1/4, 1/2, 1/4, so the
    # 2.5 % / 97.5 % quantiles are 0 and 1, and the 30 % / 70 % quantiles (level 0.4) are both 0.5
    assert paired_bootstrap_ci([0.0, 1.0], n_boot=10000) == (0.0, 1.0)
    assert paired_bootstrap_ci([0.0, 1.0], n_boot=10000, level=0.4) == (0.5, 0.5)
    with pytest.raises(ValueError, match='non-empty'):
        paired_bootstrap_ci([])


def test_format_line_exact_and_no_difference_wording():
    # 4 images, every difference 0.6 - 0.5 = +0.1: CI collapses to [+0.1, +0.1]; Wilcoxon with
    # 4 tied positive ranks: only "all +" of 2^4 sign patterns is as extreme, p = 2/16 = 0.125
    r = compare([0.5] * 4, [0.6] * 4, 'Dice')
    assert format_line(r) == ('B - A (Dice): mean +0.1000, 95 % bootstrap CI [+0.1000, +0.1000] '
                              '(n = 4 images, 10,000 resamples, seed 0); Wilcoxon signed-rank p = 0.1250; '
                              'B better / tie / worse: 4 / 0 / 0')
    # differences +0.1 and -0.1: every CI spans 0
    r = compare([0.5, 0.6, 0.5, 0.6], [0.6, 0.5, 0.6, 0.5], 'IoU', names=('U-Net', 'MSFF'), n_boot=500)
    assert r.ci_low < 0 < r.ci_high and not r.difference_shown
    line = format_line(r)
    assert line.startswith('MSFF - U-Net (IoU): mean +0.0000') and line.endswith('; no difference shown')
    assert 'MSFF better / tie / worse: 2 / 0 / 2' in line


def test_pairing_by_name_ignores_row_order(tmp_path):
    order_a = ['img3.png', 'img1.png', 'img5.png', 'img2.png', 'img4.png']
    a = write_seg(tmp_path / 'a.csv', {i: DICE_A[i] for i in order_a})
    b = write_seg(tmp_path / 'b.csv', dict(reversed(list(DICE_B.items()))))
    kind, metric, images, sa, sb = pair_files(a, b)
    assert (kind, metric, images) == ('seg', 'Dice', sorted(DICE_A))
    assert sb.tolist() == [DICE_B[i] for i in images] and sa.tolist() == [DICE_A[i] for i in images]
    assert pair_files(a, b, metric='IoU')[1] == 'IoU'


def seg_text_b(case: str) -> str:
    """B's file for one refusal case: DICE_B with one thing wrong."""
    rows = [f'{image},10,1,2,50,{d},0.5' for image, d in DICE_B.items()]
    if case == 'mismatch':
        rows[-1] = rows[-1].replace('img5.png', 'img9.png')
    if case == 'duplicate':
        rows.append('img2.png,1,1,1,1,0.5,0.3')
    if case == 'not a number':
        rows[2:4] = ['img3.png,1,1,1,1,n/a,0.3', 'img4.png,1,1,1,1,nan,0.3']
    return '\n'.join(['image,tp,fp,fn,tn,Dice,IoU', *rows]) + '\n'


@pytest.mark.parametrize('case, metric, match', [
    ('mismatch', 'Dice', r'a\.csv vs .*b\.csv: the files cover different images: 1 only in .*a\.csv '
                         r'\(img5\.png\); 1 only in .*b\.csv \(img9\.png\)'),
    ('duplicate', 'Dice', r'b\.csv: 1 image\(s\) listed more than once: img2\.png'),
    ('missing column', 'Recall', r'b\.csv: no Recall column \(header: image, tp, fp, fn, tn, Dice, IoU\)'),
    ('not a number', 'Dice', r"b\.csv: Dice is not a finite number for 2 image\(s\): img3\.png \('n/a'\), "
                             r"img4\.png \('nan'\)"),
])
def test_refusals_name_file_and_images(tmp_path, case, metric, match):
    a = write_seg(tmp_path / 'a.csv', DICE_A)  # has every NucleusMetric column, Recall included
    (tmp_path / 'b.csv').write_text(seg_text_b(case))
    with pytest.raises(PairedDataError, match=match):
        pair_files(a, tmp_path / 'b.csv', metric=metric)
    assert pair_files(a, write_seg(tmp_path / 'good.csv', DICE_B), metric=metric)[2] == sorted(DICE_A)


def test_classification_correctness_and_label_checks(tmp_path):
    # A right on x1, x2, x3; B right on x1, x4 -> b = 2 (x2, x3), c = 1 (x4); accuracy 3/4 vs 2/4
    a = write_cls(tmp_path / 'a.csv', [('x1.bmp', 'ALL', 'ALL'), ('x2.bmp', 'normal', 'normal'),
                                        ('x3.bmp', 'ALL', 'ALL'), ('x4.bmp', 'normal', 'ALL')])
    b = write_cls(tmp_path / 'b.csv', [('x1.bmp', 'ALL', 'ALL'), ('x2.bmp', 'normal', 'ALL'),
                                        ('x3.bmp', 'ALL', 'normal'), ('x4.bmp', 'normal', 'normal')])
    kind, metric, images, sa, sb = pair_files(a, b)
    assert (kind, metric, sa.tolist(), sb.tolist()) == ('cls', 'correct', [1, 1, 1, 0], [1, 0, 0, 1])
    assert mcnemar_exact(sa, sb)[:2] == (2, 1)
    bad = write_cls(tmp_path / 'c.csv', [('x1.bmp', 'ALL', 'ALL'), ('x2.bmp', 'ALL', 'ALL'),
                                          ('x3.bmp', 'ALL', 'ALL'), ('x4.bmp', 'normal', 'normal')])
    with pytest.raises(PairedDataError, match=r'true labels disagree on 1 image\(s\): .*x2\.bmp \(normal vs ALL\)'):
        pair_files(a, bad)
    with pytest.raises(PairedDataError, match='scored by correctness'):
        pair_files(a, b, metric='p_ALL')
    other_root = tmp_path / 'd.csv'
    other_root.write_text((tmp_path / 'b.csv').read_text().replace('/data/all_idb2/', '/mnt/all_idb2/'))
    with pytest.raises(PairedDataError, match='differ only in their folders'):
        pair_files(a, str(other_root))


def test_detection_needs_metric_and_header_problems(tmp_path):
    a, b = tmp_path / 'a.csv', tmp_path / 'b.csv'
    a.write_text('image,mask_AP,matched_IoU\n1.png,0.5,0.7\n2.png,0.4,0.6\n')
    b.write_text('image,mask_AP,matched_IoU\n2.png,0.6,0.65\n1.png,0.5,0.75\n')
    with pytest.raises(PairedDataError, match=r'a\.csv: neither a segmentation .* --metric'):
        pair_files(a, b)
    assert pair_files(a, b, metric='mask_AP')[4].tolist() == [0.5, 0.6]
    assert pair_files(a, b, kind='det', metric='matched_IoU')[3].tolist() == [0.7, 0.6]
    b.write_text('image,mask_AP\n1.png,0.5,0.1\n')
    with pytest.raises(PairedDataError, match=r'b\.csv: line 2 has 3 fields, the header has 2'):
        pair_files(a, b, metric='mask_AP')
    b.write_bytes(b'image,mask_AP\n\xff\xfe.png,0.5\n')  # not UTF-8 text
    with pytest.raises(PairedDataError, match=r'b\.csv: cannot read: .*utf-8'):
        pair_files(a, b, metric='mask_AP')
    b.write_text('name,mask_AP\n1.png,0.5\n')
    with pytest.raises(PairedDataError, match=r'b\.csv: no "image" column'):
        pair_files(a, b, metric='mask_AP')
    seg = write_seg(tmp_path / 'seg.csv', {'1.png': 0.5, '2.png': 0.6})
    b.write_text('image,Dice\n1.png,0.5\n2.png,0.6\n')  # a Dice column but no pixel counts
    with pytest.raises(PairedDataError, match=r'different kinds of file \(seg vs det\)'):
        pair_files(seg, b, metric='Dice')
    cls = write_cls(tmp_path / 'cls.csv', [('1.png', 'ALL', 'ALL'), ('2.png', 'ALL', 'ALL')])
    with pytest.raises(PairedDataError, match=r'seg\.csv vs .*cls\.csv: different kinds of file \(seg vs cls\)'):
        pair_files(seg, cls)  # B's kind is detected from B's own header, not forced to A's


def test_cli_end_to_end(tmp_path):
    a = write_seg(tmp_path / 'a.csv', DICE_A)
    b = write_seg(tmp_path / 'b.csv', DICE_B)
    out = tmp_path / 'res' / 'result.json'
    proc = run_tool([TOOL, a, b, '--names', 'SegNeXt-T', 'MSFF', '--n-boot', '2000', '--seed', '3', '--out', out])
    lines = proc.stdout.splitlines()
    assert 'SegNeXt-T: ' in lines[0] and 'mean Dice 0.7000' in lines[0] and 'mean Dice 0.7300' in lines[0]
    assert lines[1].startswith('MSFF - SegNeXt-T (Dice): mean +0.0300, 95 % bootstrap CI [')
    assert '(n = 5 images, 2,000 resamples, seed 3)' in lines[1] and 'MSFF better / tie / worse: 3 / 1 / 1' in lines[1]
    saved = json.loads(out.read_text())
    expected = compare(list(DICE_A.values()), list(DICE_B.values()), 'Dice', n_boot=2000, seed=3)
    # same images sorted by name as the CSV pairing -> the very same resamples
    assert (saved['kind'], saved['ci_low'], saved['ci_high']) == ('seg', expected.ci_low, expected.ci_high)
    assert (saved['b_better'], saved['ties'], saved['b_worse'], saved['n']) == (3, 1, 1, 5)


def test_cli_classification_and_error_exit(tmp_path):
    rows_a = [(f'c{i}.bmp', 'ALL', 'ALL' if i < 13 else 'normal') for i in range(18)]   # right on 0..12
    rows_b = [(f'c{i}.bmp', 'ALL', 'ALL' if 8 <= i < 15 else 'normal') for i in range(18)]  # right on 8..14
    # b = A right & B wrong = images 0..7 = 8, c = A wrong & B right = 13, 14 = 2 -> p = 0.109375
    a, b = write_cls(tmp_path / 'a.csv', rows_a), write_cls(tmp_path / 'b.csv', rows_b)
    proc = run_tool([TOOL, a, b, '--n-boot', '500'])
    assert 'cls, 18 paired images' in proc.stdout
    assert 'McNemar exact p = 0.1094 (A right & B wrong 8, A wrong & B right 2)' in proc.stdout
    bad = write_seg(tmp_path / 'bad.csv', {'c0.bmp': 0.5})
    proc = run_tool([TOOL, a, bad, '--kind', 'cls'], check=False)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip() == f'error: {bad}: no true, predicted column (header: {SEG_HEADER.replace(",", ", ")})'
    proc = run_tool([TOOL, a, str(tmp_path / 'missing.csv')], check=False)
    assert proc.returncode != 0 and proc.stderr.startswith(f'error: {tmp_path / "missing.csv"}: cannot read')


def test_several_runs_per_model_are_averaged_per_image(tmp_path):
    """Seeds: each image's score is its mean over the runs of a model, the pairing stays per image."""
    def det(name, scores):
        path = tmp_path / name
        path.write_text('image,mask_AP\n' + ''.join(f'{i},{s}\n' for i, s in scores.items()))
        return str(path)
    a0, a1 = det('a0.csv', {'1.png': 0.2, '2.png': 0.6}), det('a1.csv', {'2.png': 0.8, '1.png': 0.4})
    b0, b1 = det('b0.csv', {'1.png': 0.5, '2.png': 0.7}), det('b1.csv', {'1.png': 0.7, '2.png': 0.7})
    _, _, images, sa, sb = pair_files([a0, a1], [b0, b1], metric='mask_AP')
    assert images == ['1.png', '2.png']
    np.testing.assert_allclose(sa, [0.3, 0.7])
    np.testing.assert_allclose(sb, [0.6, 0.7])
    short = det('a2.csv', {'1.png': 0.1})
    with pytest.raises(PairedDataError, match=r'a0\.csv vs .*a2\.csv: runs of one model cover different images \(1 differ: 2\.png\)'):
        pair_files([a0, short], [b0, b1], metric='mask_AP')
    c0 = write_cls(tmp_path / 'c0.csv', [('1.png', 'ALL', 'ALL')])
    c1 = write_cls(tmp_path / 'c1.csv', [('1.png', 'ALL', 'normal')])
    with pytest.raises(PairedDataError, match='cannot be averaged'):
        pair_files([c0, c1], c0)
    proc = run_tool([TOOL, f'{a0},{a1}', f'{b0},{b1}', '--metric', 'mask_AP', '--n-boot', '200'])
    assert 'mean mask_AP 0.5000' in proc.stdout and 'mean mask_AP 0.6500' in proc.stdout
    assert 'det, 2 paired images' in proc.stdout
