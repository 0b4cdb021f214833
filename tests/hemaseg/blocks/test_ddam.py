"""DDAM = FCAM (2D-DCT channel attention) + SAM (spec 001 §2.3)."""
import math

import pytest
import torch

from hemaseg.blocks.attention import SpatialGate
from hemaseg.blocks.ddam import (DualDomainAttention, FrequencyChannelAttention,
                                 dct_basis)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_orthonormal_basis_is_orthonormal():
    h, w = 5, 7
    freqs = [(u, v) for u in range(h) for v in range(w)]
    basis = dct_basis(h, w, freqs, norm='ortho', dtype=torch.float64).reshape(len(freqs), -1)
    torch.testing.assert_close(basis @ basis.T, torch.eye(h * w, dtype=torch.float64))


def test_basis_follows_eq1_index_convention():
    h, w = 6, 4
    y00, y01, y10 = dct_basis(h, w, [(0, 0), (0, 1), (1, 0)], norm='none', dtype=torch.float64)
    torch.testing.assert_close(y00, torch.ones(h, w, dtype=torch.float64))
    i = torch.arange(h, dtype=torch.float64)
    j = torch.arange(w, dtype=torch.float64)
    # Y10: frequency along the rows (height); Y01: along the columns (spec §2.3.2 A2).
    torch.testing.assert_close(y10, torch.cos(math.pi / h * (i + 0.5))[:, None].expand(h, w))
    torch.testing.assert_close(y01, torch.cos(math.pi / w * (j + 0.5))[None, :].expand(h, w))
    mean_y00 = dct_basis(h, w, [(0, 0)], norm='mean', dtype=torch.float64)[0]
    torch.testing.assert_close(mean_y00, torch.full((h, w), 1 / (h * w), dtype=torch.float64))


def test_basis_cache_and_missing_components():
    a = dct_basis(9, 9)
    assert dct_basis(9, 9) is a
    assert dct_basis(5, 5) is not a and dct_basis(5, 5).shape == (3, 5, 5)
    assert dct_basis(9, 9, dtype=torch.float64).dtype == torch.float64
    # A 1-row map has no vertical frequency: Y10 is all zero, Y01 is not.
    b = dct_basis(1, 4, [(1, 0), (0, 1)], norm='none')
    assert b[0].abs().max() == 0 and b[1].abs().max() > 0.9
    with pytest.raises(ValueError):
        dct_basis(3, 3, norm='l2')


def test_y00_equals_scaled_global_average_pool():
    torch.manual_seed(0)
    x = torch.randn(2, 32, 7, 5)
    gap = x.mean(dim=(2, 3))
    for norm, scale in (('mean', 1.0), ('none', 35.0), ('ortho', math.sqrt(35.0))):
        fcam = FrequencyChannelAttention(32, reduction=4, freqs=[(0, 0)], dct_norm=norm)
        torch.testing.assert_close(fcam.descriptors(x)[0], scale * gap)
        expected = torch.sigmoid(fcam.mlp(scale * gap))[:, :, None, None]
        torch.testing.assert_close(fcam.gate(x), expected)
        torch.testing.assert_close(fcam(x), x * expected)


def test_descriptors_are_eq5_to_eq7():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 4, 6, dtype=torch.float64)
    fcam = FrequencyChannelAttention(3, reduction=1, dct_norm='none').double()
    y00, y01, y10 = fcam.descriptors(x)
    i = torch.arange(4, dtype=torch.float64)[:, None]
    j = torch.arange(6, dtype=torch.float64)[None, :]
    torch.testing.assert_close(y00, x.sum(dim=(2, 3)))
    torch.testing.assert_close(y01, (x * torch.cos(math.pi / 6 * (j + 0.5))).sum(dim=(2, 3)))
    torch.testing.assert_close(y10, (x * torch.cos(math.pi / 4 * (i + 0.5))).sum(dim=(2, 3)))


def test_eq8_shared_mlp_summed_before_sigmoid():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 6)
    fcam = FrequencyChannelAttention(16, reduction=4)
    logits = sum(fcam.mlp(y) for y in fcam.descriptors(x))
    torch.testing.assert_close(fcam.gate(x), torch.sigmoid(logits)[:, :, None, None])


def test_cbam_row_of_table3():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 6)
    fcam = FrequencyChannelAttention(16, reduction=4, freqs=[(0, 0)], add_max_pool=True)
    logits = fcam.mlp(x.mean(dim=(2, 3))) + fcam.mlp(x.amax(dim=(2, 3)))
    torch.testing.assert_close(fcam.gate(x), torch.sigmoid(logits)[:, :, None, None])


def test_spatial_attention_is_cbam_sam():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 5)
    sam = SpatialGate(bias=False)
    pooled = torch.stack([x.amax(1), x.mean(1)], dim=1)
    expected = torch.sigmoid(torch.nn.functional.conv2d(pooled, sam.conv.weight, padding=3))
    torch.testing.assert_close(sam.gate(x), expected)
    assert sam.gate(x).shape == (2, 1, 6, 5)


def test_ddam_is_fcam_then_sam():
    torch.manual_seed(0)
    x = torch.randn(2, 256, 9, 9)
    ddam = DualDomainAttention(256)
    f1 = x * ddam.channel_attention.gate(x)
    torch.testing.assert_close(ddam(x), f1 * ddam.spatial_attention.gate(f1))


def test_parameter_counts():
    mlp = 256 * 16 + 16 + 16 * 256 + 256  # W0, b0, W1, b1 with r = 16
    assert n_params(FrequencyChannelAttention(256)) == mlp == 8464
    # Components share the MLP: Table 3 variants all have the same size.
    assert n_params(FrequencyChannelAttention(256, freqs=[(0, 0), (0, 1), (1, 0), (1, 1)])) == 8464
    assert n_params(SpatialGate(bias=False)) == 2 * 7 * 7
    assert n_params(DualDomainAttention(256)) == 8562


@pytest.mark.parametrize('size', [69, 35, 18, 9, 5, 1])
def test_runs_at_every_yolact_level_size(size):
    ddam = DualDomainAttention(32, reduction=4)
    x = torch.randn(1, 32, size, size + 1)
    y = ddam(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    # Both gates are in (0, 1): the output never exceeds the input in magnitude.
    assert (y.abs() <= x.abs() + 1e-6).all()


def test_gradients_and_inference_mode_cache():
    ddam = DualDomainAttention(32, reduction=4)
    with torch.inference_mode():
        ddam(torch.randn(1, 32, 13, 11))  # first use of this size creates the cached basis
    x = torch.randn(2, 32, 13, 11, requires_grad=True)
    ddam(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ddam.parameters())


def test_literal_dct_scale_saturates_gate():
    torch.manual_seed(0)
    x = torch.randn(1, 64, 69, 69) + 1.0
    literal = FrequencyChannelAttention(64, dct_norm='none')
    mean = FrequencyChannelAttention(64, dct_norm='mean')
    mean.load_state_dict(literal.state_dict())
    # Y00 = 4761 * GAP at N3 size drives the sigmoid to 0/1; the H*W-normalised basis does not.
    assert ((literal.gate(x) < 1e-3) | (literal.gate(x) > 1 - 1e-3)).float().mean() > 0.9
    assert ((mean.gate(x) > 0.05) & (mean.gate(x) < 0.95)).all()


def test_invalid_arguments():
    with pytest.raises(ValueError):
        FrequencyChannelAttention(16, freqs=[])
    with pytest.raises(ValueError):
        FrequencyChannelAttention(16, dct_norm='l2')
