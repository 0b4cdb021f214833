"""Unified Focal Loss (spec 002 Eqs. 9-11) against hand-computed numbers, plain-Python loops over
the printed formulas, and (gamma = 1) torch's weighted cross-entropy plus MONAI's Tversky loss."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hemaseg.losses import unified_focal_loss


def reference_ufl(probs, target, lam, delta, gamma, ignore_index=255, eps=1e-7):
    """Eqs. 9-11 pixel by pixel with Python floats: probs [n][c][y][x], target [n][y][x]."""
    num_classes = len(probs[0])
    pixels = [(n, y, x) for n in range(len(target)) for y in range(len(target[0]))
              for x in range(len(target[0][0])) if target[n][y][x] != ignore_index]
    if not pixels:
        return 0.0
    focal = 0.0
    for n, y, x in pixels:
        t = target[n][y][x]
        p = min(max(probs[n][t][y][x], eps), 1 - eps)
        w = delta if t > 0 else 1 - delta
        focal += w * (1 - p) ** (1 - gamma) * -math.log(p)
    focal /= len(pixels)
    tversky = 0.0
    for c in range(num_classes):
        tp = fp = fn = 0.0
        for n, y, x in pixels:
            p0, g0 = probs[n][c][y][x], 1.0 if target[n][y][x] == c else 0.0
            tp += p0 * g0
            fp += p0 * (1 - g0)
            fn += (1 - p0) * g0
        mti = (tp + eps) / (tp + delta * fp + (1 - delta) * fn + eps)
        tversky += max(1 - mti, eps) ** gamma
    return lam * focal + (1 - lam) * tversky


def random_case(seed, n=2, c=2, h=3, w=4, ignore_fraction=0.0):
    g = torch.Generator().manual_seed(seed)
    probs = torch.randn(n, c, h, w, generator=g, dtype=torch.float64).mul(2).softmax(1)
    target = torch.randint(0, c, (n, h, w), generator=g)
    if ignore_fraction:
        target[torch.rand(n, h, w, generator=g) < ignore_fraction] = 255
    return probs, target


def test_hand_computed_binary_example():
    # 1 image, 2x2 pixels; foreground probabilities 0.9, 0.2 / 0.6, 0.1; labels 1, 0 / 1, 0.
    fg = torch.tensor([[0.9, 0.2], [0.6, 0.1]], dtype=torch.float64)
    probs = torch.stack([1 - fg, fg])[None]
    target = torch.tensor([[[1, 0], [1, 0]]])
    lam, delta = 0.5, 0.8
    # Eq. 9 (gamma = 1): foreground pixels weighted 0.8, background 0.2, -log of the true-class probability.
    focal = (0.8 * -math.log(0.9) + 0.2 * -math.log(0.8) + 0.8 * -math.log(0.6) + 0.2 * -math.log(0.9)) / 4
    # Eq. 10: nucleus TP 0.9+0.6, FP 0.2+0.1, FN 0.1+0.4; background TP 0.8+0.9, FP 0.1+0.4, FN 0.2+0.1.
    ti_fg = 1.5 / (1.5 + 0.8 * 0.3 + 0.2 * 0.5)
    ti_bg = 1.7 / (1.7 + 0.8 * 0.5 + 0.2 * 0.3)
    expected = lam * focal + (1 - lam) * ((1 - ti_fg) + (1 - ti_bg))
    got = unified_focal_loss(probs, target, lam=lam, delta=delta, gamma=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('gamma', [0.5, 1.0, 0.2])
@pytest.mark.parametrize('num_classes', [2, 3])
def test_matches_loops_over_the_printed_formulas(gamma, num_classes):
    probs, target = random_case(seed=num_classes * 10 + int(gamma * 10), c=num_classes, ignore_fraction=0.2)
    lam, delta = 0.4, 0.7
    expected = reference_ufl(probs.tolist(), target.tolist(), lam, delta, gamma)
    got = unified_focal_loss(probs, target, lam=lam, delta=delta, gamma=gamma)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_lambda_weights_the_focal_term_as_eq_11_prints():
    probs, target = random_case(seed=3)
    lam1 = unified_focal_loss(probs, target, lam=1.0, delta=0.7, gamma=1.0)
    lam0 = unified_focal_loss(probs, target, lam=0.0, delta=0.7, gamma=1.0)
    ce = F.nll_loss(probs.log(), target, weight=torch.tensor([0.3, 0.7], dtype=torch.float64), reduction='sum')
    assert lam1.item() == pytest.approx(ce.item() / target.numel(), rel=1e-6)  # lam = 1: focal (CE) term only
    assert lam0.item() != pytest.approx(lam1.item(), rel=1e-3)
    mixed = unified_focal_loss(probs, target, lam=0.4, delta=0.7, gamma=1.0)
    assert mixed.item() == pytest.approx(0.4 * lam1.item() + 0.6 * lam0.item(), rel=1e-9)


def test_gamma_one_is_delta_weighted_cross_entropy_plus_tversky():
    """Spec 002 §3.1: with Table A2's gamma = 1, L_mF = delta-weighted BCE and L_mFT = plain Tversky;
    checked against torch's weighted NLL and MONAI's TverskyLoss (alpha on FP, beta on FN)."""
    monai_losses = pytest.importorskip('monai.losses')
    lam, delta = 0.5, 0.8
    logits = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 2
    target = (torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(8)) > 0.6).long()
    probs = logits.softmax(1)
    assert probs.min() > 1e-6  # no probability reaches the eps clipping of Eq. 9
    ce = F.cross_entropy(logits, target, weight=torch.tensor([1 - delta, delta], dtype=torch.float64),
                         reduction='sum') / target.numel()
    tversky = monai_losses.TverskyLoss(to_onehot_y=True, alpha=delta, beta=1 - delta, batch=True, reduction='sum',
                                       smooth_nr=0.0, smooth_dr=0.0)(probs, target[:, None])
    got = unified_focal_loss(probs, target, lam=lam, delta=delta, gamma=1.0)
    assert got.item() == pytest.approx(lam * ce.item() + (1 - lam) * tversky.item(), rel=1e-6)


@pytest.mark.parametrize('gamma', [0.5, 1.0, 2.0])
def test_gradient_is_finite_even_for_perfect_and_saturated_predictions(gamma):
    target = torch.tensor([[[1, 0, 1], [0, 0, 255]]])
    perfect = F.one_hot(target.clamp(max=1), 2).permute(0, 3, 1, 2).double() * 200 - 100  # saturated softmax
    for logits in (perfect, -perfect, torch.zeros_like(perfect)):
        logits = logits.clone().requires_grad_(True)
        loss = unified_focal_loss(logits.softmax(1), target, lam=0.5, delta=0.6, gamma=gamma)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_ignored_pixels_are_excluded():
    probs, target = random_case(seed=11, n=1, h=2, w=6)
    target[0, :, 4:] = 255
    full = unified_focal_loss(probs, target, lam=0.4, delta=0.7, gamma=1.0)
    kept = unified_focal_loss(probs[..., :4], target[..., :4], lam=0.4, delta=0.7, gamma=1.0)
    assert full.item() == pytest.approx(kept.item(), rel=1e-12)
    # Changing the probabilities of ignored pixels changes neither the loss nor gives them a gradient.
    logits = torch.randn(1, 2, 2, 6, dtype=torch.float64, requires_grad=True)
    loss = unified_focal_loss(logits.softmax(1), target, lam=0.4, delta=0.7, gamma=0.5)
    loss.backward()
    assert (logits.grad[..., 4:] == 0).all() and (logits.grad[..., :4] != 0).any()
    # Every pixel ignored: zero, and backward still works.
    logits.grad = None
    empty = unified_focal_loss(logits.softmax(1), torch.full((1, 2, 6), 255), gamma=0.5)
    empty.backward()
    assert empty.item() == 0.0 and (logits.grad == 0).all()


def test_loss_is_lower_for_a_better_prediction():
    target = torch.tensor([[[1, 1, 0, 0]]])
    good = torch.tensor([[[[0.1, 0.2, 0.9, 0.8]], [[0.9, 0.8, 0.1, 0.2]]]])
    bad = good.flip(1)
    assert unified_focal_loss(good, target, 0.5, 0.6, 0.5) < unified_focal_loss(bad, target, 0.5, 0.6, 0.5)


def test_bad_inputs_raise_clear_errors():
    probs = torch.full((1, 2, 2, 2), 0.5)
    with pytest.raises(ValueError, match=r'outside 0\.\.1'):
        unified_focal_loss(probs, torch.tensor([[[0, 2], [1, 0]]]))
    with pytest.raises(ValueError, match='disagree'):
        unified_focal_loss(probs, torch.zeros(1, 3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='C >= 2'):
        unified_focal_loss(probs[:, :1], torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match='integer'):
        unified_focal_loss(probs, torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='delta'):
        unified_focal_loss(probs, torch.zeros(1, 2, 2, dtype=torch.long), delta=1.5)


def test_reference_itself_on_numpy_example():
    """Guard the loop reference: one pixel of each class, C = 2, gamma = 1, delta = 0.5."""
    probs = np.array([[[[0.7, 0.4]], [[0.3, 0.6]]]])  # pixel 0: bg 0.7; pixel 1: fg 0.6
    target = [[[0, 1]]]
    focal = 0.5 * (-math.log(0.7) - math.log(0.6)) / 2
    ti_fg = 0.6 / (0.6 + 0.5 * 0.3 + 0.5 * 0.4)
    ti_bg = 0.7 / (0.7 + 0.5 * 0.4 + 0.5 * 0.3)
    expected = 0.5 * focal + 0.5 * (2 - ti_fg - ti_bg)
    assert reference_ufl(probs.tolist(), target, 0.5, 0.5, 1.0) == pytest.approx(expected, rel=1e-6)
