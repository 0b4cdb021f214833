"""Flipping Attention Block (spec 003 §2.4): shapes, tied memory weights, the memory unit against a
loop implementation of its formulas, the flip, and the residual."""
import numpy as np
import pytest
import torch

from hemaseg.blocks.flipping_attention import ExternalMemoryUnit, FlippingAttentionBlock


def memory_unit_reference(x: np.ndarray, w_in: np.ndarray, w_out: np.ndarray) -> np.ndarray:
    """Spec §2.4 steps 3-8 written out with loops: (C, H, W) -> (C, H, W)."""
    c, h, w = x.shape
    n = h * w
    flat = x.reshape(c, n)
    slots = w_in.shape[0]
    logits = np.array([[sum(w_in[s, k] * flat[k, p] for k in range(c)) for p in range(n)] for s in range(slots)])
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)            # softmax over positions
    soft /= soft.sum(axis=0, keepdims=True) + 1e-9      # over memory slots
    out = np.array([[sum(w_out[k, s] * soft[s, p] for s in range(slots)) for p in range(n)] for k in range(c)])
    return out.reshape(c, h, w)


@pytest.mark.parametrize('tied', [True, False])
def test_memory_unit_matches_loop_reference(tied):
    torch.manual_seed(0)
    mu = ExternalMemoryUnit(4, expansion=4, tied_memory=tied).double()
    x = torch.randn(1, 4, 3, 5, dtype=torch.double)
    w_in = mu.memory_in.weight[:, :, 0].detach().numpy()
    w_out = w_in.T if tied else mu.memory_out.weight[:, :, 0].detach().numpy()
    expected = memory_unit_reference(x[0].numpy(), w_in, w_out)
    np.testing.assert_allclose(mu(x)[0].detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_tied_memory_is_one_tensor_and_parameter_count():
    c = 8
    tied = FlippingAttentionBlock(c)
    untied = FlippingAttentionBlock(c, tied_memory=False)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    proj_in, memory, fuse, norm = c * c + c, c * 4 * c, 2 * c * c, 2 * c
    assert n(tied) == proj_in + memory + fuse + norm
    assert n(untied) == n(tied) + memory
    assert n(FlippingAttentionBlock(c, fusion='sum')) == n(tied) - c * c
    # changing the one memory tensor changes both units: unit 2 reads the transpose of unit 1
    x = torch.randn(1, c, 4, 4)
    mu = tied.memory
    before = mu(x)
    with torch.no_grad():
        mu.memory_in.weight[0, 0, 0] += 1.0
    assert not torch.allclose(before, mu(x))
    mu(x).sum().backward()
    assert mu.memory_in.weight.grad is not None and mu.memory_out is None


@pytest.mark.parametrize('flip', ['spatial', 'transpose'])
@pytest.mark.parametrize('fusion', ['concat', 'sum'])
def test_shapes(flip, fusion):
    fab = FlippingAttentionBlock(16, flip=flip, fusion=fusion)
    x = torch.randn(2, 16, 6, 6)
    assert fab(x).shape == x.shape


def test_transpose_needs_square_and_spatial_does_not():
    x = torch.randn(1, 8, 4, 6)
    assert FlippingAttentionBlock(8)(x).shape == x.shape
    with pytest.raises(ValueError, match='square'):
        FlippingAttentionBlock(8, flip='transpose')(x)


@pytest.mark.parametrize('flip', ['spatial', 'transpose'])
def test_flipped_branch(flip):
    torch.manual_seed(1)
    x = torch.randn(1, 8, 5, 5)
    fab = FlippingAttentionBlock(8, flip=flip)
    direct, flipped = fab.branches(x)
    # the second branch is the mirror of the first (the memory unit commutes with the flip) ...
    torch.testing.assert_close(flipped, fab.flip(direct), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(flipped, direct, atol=1e-4)  # ... and differs from it
    # the spec's sketch (un-flip before fusing) makes the two branches identical
    fab.unflip = True
    direct, unflipped = fab.branches(x)
    torch.testing.assert_close(unflipped, direct, rtol=1e-5, atol=1e-6)


def test_flip_is_applied_along_both_axes():
    fab = FlippingAttentionBlock(4)
    x = torch.arange(2 * 3, dtype=torch.float).reshape(1, 1, 2, 3).expand(1, 4, 2, 3)
    assert fab.flip(x)[0, 0].tolist() == [[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]
    fab_t = FlippingAttentionBlock(4, flip='transpose')
    sq = torch.arange(4, dtype=torch.float).reshape(1, 1, 2, 2).expand(1, 4, 2, 2)
    assert fab_t.flip(sq)[0, 0].tolist() == [[0.0, 2.0], [1.0, 3.0]]


def test_residual_path():
    fab = FlippingAttentionBlock(8)
    with torch.no_grad():
        fab.fuse.weight.zero_()
    x = torch.randn(1, 8, 4, 4)
    torch.testing.assert_close(fab(x), torch.nn.functional.gelu(x))


def test_bad_arguments():
    with pytest.raises(ValueError, match='flip'):
        FlippingAttentionBlock(8, flip='mirror')
    with pytest.raises(ValueError, match='fusion'):
        FlippingAttentionBlock(8, fusion='max')
    with pytest.raises(ValueError, match='divide'):
        FlippingAttentionBlock(6, num_groups=4)
