"""Eqs. 5-9 on cases computed by hand."""
import numpy as np
import pytest

from hemaseg.metrics import ConfusionCounts, confusion_counts, scores, summarize


def test_counts_and_scores_by_hand():
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0], [1, 1, 0, 0]])
    c = confusion_counts(pred, gt)
    assert c == ConfusionCounts(tp=3, fp=1, fn=1, tn=3)
    s = scores(c)
    assert s['Dice'] == pytest.approx(6 / 8)
    assert s['IoU'] == pytest.approx(3 / 5)
    assert s['Accuracy'] == pytest.approx(6 / 8)
    assert s['Precision'] == pytest.approx(3 / 4)
    assert s['Recall'] == pytest.approx(3 / 4)


def test_ignore_index_pixels_are_not_counted():
    gt = np.array([1, 255, 0])
    pred = np.array([1, 1, 1])
    assert confusion_counts(pred, gt) == ConfusionCounts(tp=1, fp=1, fn=0, tn=0)


def test_pooled_versus_per_image_mean_differ():
    big = ConfusionCounts(tp=90, fp=10, fn=0, tn=0)    # Dice 180/190
    small = ConfusionCounts(tp=0, fp=0, fn=10, tn=90)  # Dice 0
    out = summarize([big, small])
    assert out['Dice'] == pytest.approx(180 / 200)
    assert out['mDice'] == pytest.approx((180 / 190 + 0) / 2)


def test_empty_agreement_scores_one_and_shape_mismatch_raises():
    s = scores(confusion_counts(np.zeros((3, 3)), np.zeros((3, 3))))
    assert s == {'Dice': 1.0, 'IoU': 1.0, 'Accuracy': 1.0, 'Precision': 1.0, 'Recall': 1.0, 'Specificity': 1.0}
    # every pixel ignored: nothing positive on either side, so still "both empty"
    assert scores(confusion_counts(np.zeros(4), np.full(4, 255)))['Accuracy'] == 1.0
    with pytest.raises(ValueError, match='shape'):
        confusion_counts(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match='no images'):
        summarize([])


def test_zero_over_zero_with_one_side_nonempty_scores_zero():
    # Empty prediction, 4 nucleus pixels of 9: Precision = 0/0 must be 0 (it was 1 before).
    gt = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    c = confusion_counts(np.zeros((3, 3)), gt)
    assert c == ConfusionCounts(tp=0, fp=0, fn=4, tn=5)
    assert scores(c) == {'Dice': 0.0, 'IoU': 0.0, 'Accuracy': pytest.approx(5 / 9), 'Precision': 0.0,
                         'Recall': 0.0, 'Specificity': 1.0}  # tn5 fp0
    # Nucleus predicted (2 px) on an image without one: Recall = 0/0 must be 0.
    c = confusion_counts(np.array([[1, 1, 0], [0, 0, 0], [0, 0, 0]]), np.zeros((3, 3)))
    assert c == ConfusionCounts(tp=0, fp=2, fn=0, tn=7)
    assert scores(c) == {'Dice': 0.0, 'IoU': 0.0, 'Accuracy': pytest.approx(7 / 9), 'Precision': 0.0,
                         'Recall': 0.0, 'Specificity': pytest.approx(7 / 9)}  # tn7 fp2


def test_empty_prediction_lowers_the_per_image_mean():
    perfect = ConfusionCounts(tp=4, fp=0, fn=0, tn=5)
    missed = ConfusionCounts(tp=0, fp=0, fn=4, tn=5)   # empty prediction, nucleus present
    nothing = ConfusionCounts(tp=0, fp=0, fn=0, tn=9)  # both empty: perfect
    out = summarize([perfect, missed, nothing])
    assert out['mPrecision'] == pytest.approx(2 / 3)  # (1 + 0 + 1) / 3; the old rule gave 1.0
    assert out['mRecall'] == pytest.approx(2 / 3)
    assert out['mDice'] == pytest.approx(2 / 3)
    assert out['Precision'] == 1.0 and out['Recall'] == pytest.approx(4 / 8)  # pooled: tp 4, fp 0, fn 4
    assert out['Accuracy'] == pytest.approx(23 / 27)


def test_cross_validate_scores_subsets_by_name_prefix(tmp_path):
    from hemaseg.cross_validation import subset_metrics
    csv = tmp_path / 'per_image.csv'
    csv.write_text('image,tp,fp,fn,tn,Dice,IoU,Accuracy,Precision,Recall\n'
                   'd1_001.png,3,1,0,4,x,x,x,x,x\n'
                   'd1_002.png,1,0,1,6,x,x,x,x,x\n'
                   'd2_001.png,0,0,2,6,x,x,x,x,x\n')
    m = subset_metrics(str(csv), ['d1', 'd2'])
    assert m['d1/Dice'] == pytest.approx(8 / 10)  # pooled tp4 fp1 fn1: 2*4 / (2*4 + 1 + 1)
    assert m['d1/mDice'] == pytest.approx((6 / 7 + 2 / 3) / 2)
    assert m['d2/Dice'] == 0.0 and m['d2/Recall'] == 0.0
    assert m['d2/Precision'] == 0.0 and m['d2/mPrecision'] == 0.0  # nothing predicted, nucleus present: 0/0 -> 0
    with pytest.raises(SystemExit, match='d3_'):
        subset_metrics(str(csv), ['d3'])
