"""SemanticFusionMaskHead (spec 004 §2.2.8 reading (B)): shapes, parameter budget, the pyramid is used."""
import pytest
import torch
import torch.nn as nn

from hemaseg.blocks import SemanticFusionMaskHead


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def standard_mask_head(channels=256, num_classes=1):
    """Mask R-CNN's head: 4 x (3x3 conv + ReLU) -> 2x2 deconv + ReLU -> 1x1 conv."""
    convs = [m for i in range(4) for m in (nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())]
    return nn.Sequential(*convs, nn.ConvTranspose2d(channels, channels, 2, 2), nn.ReLU(),
                         nn.Conv2d(channels, num_classes, 1))


@pytest.mark.parametrize('size', [14, 28])
def test_output_is_twice_the_roi_size(size):
    head = SemanticFusionMaskHead(in_channels=32, channels=16, num_classes=3)
    assert head(torch.randn(2, 32, size, size)).shape == (2, 3, 2 * size, 2 * size)


def test_same_parameter_count_as_the_standard_head():
    assert n_params(SemanticFusionMaskHead()) == n_params(standard_mask_head()) == 2_622_977


def test_coarse_levels_reach_the_output():
    torch.manual_seed(0)
    head = SemanticFusionMaskHead(in_channels=8, channels=8, num_levels=3).eval()
    x = torch.randn(1, 8, 14, 14)
    before = head(x)
    with torch.no_grad():
        head.downs[1][0].weight.mul_(3.0)  # only the 4x4 level changes
    assert not torch.allclose(head(x), before)
    flat = SemanticFusionMaskHead(in_channels=8, channels=8, num_levels=1)
    assert len(flat.downs) == 0 and flat(x).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match='num_levels must be >= 1'):
        SemanticFusionMaskHead(num_levels=0)
