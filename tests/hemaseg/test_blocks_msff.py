"""Plain-PyTorch blocks of MSFF-SegNeXt: parameter counts from the paper and operator maths."""
import torch

from hemaseg.blocks import CBAM, EdgeGuidedAttention, edge_map, laplacian_band, sobel_magnitude
from hemaseg.blocks.edges import rgb_to_grayscale
from hemaseg.blocks.r2unet import R2UNet


def n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_ega_has_the_papers_parameter_count():
    # spec 000 §2.3: EGA(256) has exactly 1,781,110 learnable parameters.
    assert n_params(EdgeGuidedAttention(256)) == 1_781_110


def test_r2unet_matches_table1_parameter_count():
    # spec 000 §6.2 Table 1: R2U-Net (t=2, 1 output channel) has 39,091,393 parameters.
    assert n_params(R2UNet(num_classes=1)) == 39_091_393


def test_sobel_on_a_vertical_step_edge():
    gray = torch.zeros(1, 1, 8, 8)
    gray[..., 4:] = 1.0
    mag = sobel_magnitude(gray)[0, 0]
    # The 3x3 Sobel response to a unit step is 1 + 2 + 1 = 4 on both sides of the step.
    assert torch.allclose(mag[:, 3], torch.full((8,), 4.0), atol=1e-5)
    assert torch.allclose(mag[:, 4], torch.full((8,), 4.0), atol=1e-5)
    assert mag[:, :3].abs().max() < 1e-5 and mag[:, 5:].abs().max() < 1e-5


def test_laplacian_band_is_zero_on_constant_and_nonzero_on_edges():
    flat = torch.full((1, 3, 16, 16), 0.7)
    assert laplacian_band(flat).abs().max() < 1e-5
    step = torch.zeros(1, 1, 16, 16)
    step[..., 8:] = 1.0
    band = laplacian_band(step)[0, 0]
    assert band[:, 6:10].abs().max() > 0.1
    assert band[:, :4].abs().max() < 1e-5


def test_grayscale_uses_luma_weights():
    img = torch.zeros(1, 3, 2, 2)
    img[:, 1] = 1.0  # pure green
    assert torch.allclose(rgb_to_grayscale(img), torch.full((1, 1, 2, 2), 0.587))


def test_edge_map_operators_shapes_and_errors():
    img = torch.rand(2, 3, 32, 32)
    assert edge_map(img, 'sobel').shape == (2, 1, 32, 32)
    assert edge_map(img, 'laplacian').shape == (2, 1, 16, 16)  # band at half resolution (MEGANet)
    try:
        edge_map(img, 'canny')
    except ValueError as e:
        assert 'canny' in str(e)
    else:
        raise AssertionError('unknown operator accepted')


def test_edge_map_in_bfloat16_autocast_is_float32():
    img = torch.rand(1, 3, 16, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        e = edge_map(img, 'sobel')
    assert e.dtype == torch.float32


def test_ega_uses_all_three_inputs_and_trains():
    torch.manual_seed(0)
    ega = EdgeGuidedAttention(32).eval()
    x, pred = torch.randn(2, 32, 8, 8), torch.randn(2, 32, 8, 8)
    edge = torch.rand(2, 1, 32, 32)
    out = ega(x, pred, edge)
    assert out.shape == x.shape
    assert not torch.allclose(out, ega(x, pred, torch.zeros_like(edge)))
    assert not torch.allclose(out, ega(x, pred + 1.0, edge))
    ega.train()
    ega(x, pred, edge).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ega.parameters())


def test_cbam_gates_scale_features_down():
    z = torch.rand(1, 16, 8, 8) + 0.1
    out = CBAM(16, reduction=4)(z)
    assert out.shape == z.shape
    assert (out <= z + 1e-6).all()  # both gates are sigmoids in (0, 1)
