"""Fixed (non-learnable) edge operators on grayscale images.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

MSFF-SegNeXt feeds a Sobel edge map of the input image into its Edge-Guided
Attention (spec 000 §2.2, ambiguity A9); the Table 6 ablation swaps it for a
Laplacian edge map ("La"), which the spec reads as MEGANet's Laplacian-pyramid
band. Everything here is pure tensor maths on the input's device and dtype, so it
runs unchanged under DDP and autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# ITU-R 601 luma weights, the ones torchvision's rgb_to_grayscale uses (spec 000 §2.2 [CODE]).
_LUMA = (0.2989, 0.587, 0.114)


def rgb_to_grayscale(img: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) luma."""
    if img.dim() != 4 or img.shape[1] != 3:
        raise ValueError(f'rgb_to_grayscale expects (B, 3, H, W), got {tuple(img.shape)}')
    w = img.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (img * w).sum(dim=1, keepdim=True)


def sobel_magnitude(gray: torch.Tensor) -> torch.Tensor:
    """3x3 Sobel gradient magnitude sqrt(Gx^2 + Gy^2) at native resolution.

    The spec's "most reasonable reading" (000 §2.2): Gx = [[-1,0,1],[-2,0,2],[-1,0,1]],
    Gy = Gx^T. Replicate padding keeps image borders from looking like edges.
    """
    gx = gray.new_tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
    kernel = torch.stack([gx, gx.t()]).unsqueeze(1)  # (2, 1, 3, 3)
    grad = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode='replicate'), kernel)
    # eps keeps the sqrt differentiable at flat regions (gradient of sqrt(0) is inf).
    return torch.sqrt(grad.pow(2).sum(dim=1, keepdim=True) + 1e-12)


def _binomial_kernel(channels: int, ref: torch.Tensor) -> torch.Tensor:
    """5x5 binomial ([1,4,6,4,1] outer product / 256) depth-wise kernel."""
    k = ref.new_tensor([1., 4., 6., 4., 1.])
    k = torch.outer(k, k) / 256.
    return k.expand(channels, 1, 5, 5).contiguous()


def gaussian_blur(x: torch.Tensor) -> torch.Tensor:
    kernel = _binomial_kernel(x.shape[1], x)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode='reflect'), kernel, groups=x.shape[1])


def downsample(x: torch.Tensor) -> torch.Tensor:
    return gaussian_blur(x)[:, :, ::2, ::2]


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Zero-insertion upsampling followed by 4 x Gaussian (the classic Burt-Adelson EXPAND)."""
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return 4. * gaussian_blur(up)


def laplacian_band(x: torch.Tensor) -> torch.Tensor:
    """Level-0 Laplacian-pyramid band L(x) = x - EXPAND(REDUCE(x)), channel-wise.

    Used for EGA's boundary attention (spec 000 §2.3) on every channel of the
    decoder feature, which is the spec's reading of the "improved" EGA (A7).
    """
    up = upsample(downsample(x))
    if up.shape[-2:] != x.shape[-2:]:
        up = F.interpolate(up, size=x.shape[-2:], mode='nearest')
    return x - up


def laplacian_pyramid_edge(gray: torch.Tensor, level: int = 1) -> torch.Tensor:
    """Band ``level`` of a Laplacian pyramid (MEGANet's edge input, spec 000 §2.2 [INFERRED]).

    ``level=1`` is the band at half resolution, as in ``make_laplace_pyramid(gray, 5, 1)[1]``.
    """
    x = gray
    for _ in range(level):
        x = downsample(x)
    return laplacian_band(x)


EDGE_OPERATORS = {
    'sobel': lambda gray: sobel_magnitude(gray),
    'laplacian': lambda gray: laplacian_pyramid_edge(gray, level=1),
}


def edge_map(img_rgb01: torch.Tensor, operator: str) -> torch.Tensor:
    """Edge map of an RGB image in [0, 1]; ``operator`` is 'sobel' or 'laplacian'."""
    if operator not in EDGE_OPERATORS:
        raise ValueError(f'unknown edge operator {operator!r}; choose one of {sorted(EDGE_OPERATORS)}')
    # Edges are computed in float32 even under fp16/bf16 autocast: the Sobel magnitude of a
    # [0, 1] image squares small differences, which underflow in half precision.
    with torch.autocast(device_type=img_rgb01.device.type, enabled=False):
        return EDGE_OPERATORS[operator](rgb_to_grayscale(img_rgb01.float()))
