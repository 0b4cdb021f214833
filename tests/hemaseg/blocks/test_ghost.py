"""Ghost-ResNet (spec 001 §2.1, Table 2)."""
import math

import pytest
import torch
import torch.nn as nn

from hemaseg.blocks.ghost import GhostBottleneck, GhostModule, GhostResNet, ghost_resnet50, resnet50


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


FC_1000 = 2048 * 1000 + 1000
# Shallow layout for behaviour tests (one identity-shortcut block, every stride): each new
# conv shape costs a one-off kernel set-up on CPU, so the full depth is only used for counts.
SHORT = (2, 1, 1, 1)


def test_resnet50_matches_table2_and_torchvision():
    count = n_params(resnet50(num_classes=1000))
    assert count == 25_557_032  # torchvision resnet50
    assert abs(count / 25.56e6 - 1) < 0.01
    assert not any(isinstance(m, GhostModule) for m in resnet50().modules())


@pytest.mark.parametrize('ratio, exact, paper', [
    (2, 13_271_680, 13.28e6),
    (4, 8_153_504, 8.16e6),
    (6, 6_474_847, 6.44e6),  # Table 2's "S=8" row fits S=6 (module docstring)
])
def test_ghost_counts_match_table2(ratio, exact, paper):
    model = ghost_resnet50(ratio)
    count = n_params(model)
    assert count == exact
    assert abs(count / paper - 1) < 0.01
    assert n_params(ghost_resnet50(ratio, num_classes=1000)) == exact + FC_1000


def test_ghost_s8_is_not_the_table_row():
    count = n_params(ghost_resnet50(8))
    assert count == 5_594_416
    assert abs(count / 6.44e6 - 1) > 0.1


def test_ghost_module_structure_and_count():
    # 10 outputs at ratio 3: 4 intrinsic maps, 8 ghosts, 2 of them dropped.
    m = GhostModule(6, 10, kernel_size=3, stride=2, ratio=3, dw_size=3)
    primary = 6 * 4 * 9 + 2 * 4
    cheap = 8 * 9 + 2 * 8
    assert n_params(m) == primary + cheap
    x = torch.randn(2, 6, 9, 9)
    m.eval()
    y = m(x)
    assert y.shape == (2, 10, 5, 5)
    # The first ceil(n/s) maps are the primary conv's, the rest depth-wise ghosts of them.
    intrinsic = m.primary_conv(x)
    torch.testing.assert_close(y[:, :4], intrinsic)
    torch.testing.assert_close(y[:, 4:], m.cheap_operation(intrinsic)[:, :6])
    with pytest.raises(ValueError):
        GhostModule(6, 10, ratio=1)


def test_bottleneck_replaces_all_three_convs_but_not_shortcut():
    block = GhostBottleneck(64, 64, stride=2, ghost_ratio=4)
    assert all(isinstance(getattr(block, n), GhostModule) for n in ('conv1', 'conv2', 'conv3'))
    assert isinstance(block.downsample[0], nn.Conv2d) and block.downsample[0].stride == (2, 2)
    assert block.conv2.primary_conv[0].stride == (2, 2) and block.conv2.primary_conv[0].kernel_size == (3, 3)
    assert block(torch.randn(2, 64, 8, 8)).shape == (2, 256, 4, 4)
    assert isinstance(GhostBottleneck(256, 64).downsample, nn.Identity)


def test_feature_shapes_and_strides():
    model = ghost_resnet50(4).eval()
    assert model.out_channels == [256, 512, 1024, 2048]
    assert model.out_strides == [4, 8, 16, 32]
    with torch.no_grad():
        feats = model(torch.randn(1, 3, 64, 64))
        assert [f.shape[1:] for f in feats] == [(256, 16, 16), (512, 8, 8), (1024, 4, 4), (2048, 2, 2)]
        # Odd sizes round up like YOLACT at 550 (138, 69, 35, 18).
        c3, c4, c5 = GhostResNet(SHORT, ghost_ratio=4, out_indices=(1, 2, 3)).eval()(torch.randn(1, 3, 70, 70))
    assert [c3.shape[-1], c4.shape[-1], c5.shape[-1]] == [9, 5, 3]


def test_classification_head():
    model = GhostResNet(SHORT, ghost_ratio=4, num_classes=7).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 7)


def test_gradient_reaches_every_parameter():
    model = GhostResNet(SHORT, ghost_ratio=4)
    feats = model(torch.randn(2, 3, 64, 64))
    sum(f.square().mean() for f in feats).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_frozen_stages_and_norm_eval():
    model = GhostResNet(SHORT, ghost_ratio=4, frozen_stages=1)
    model.train()
    for module, frozen in ((model.stem, True), (model.stages[0], True), (model.stages[1], False)):
        assert all(p.requires_grad != frozen for p in module.parameters())
        assert all(m.training != frozen for m in module.modules() if isinstance(m, nn.BatchNorm2d))
    bn = model.stem[0][1]
    before = bn.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(bn.running_mean, before)

    model = GhostResNet(SHORT, ghost_ratio=4, norm_eval=True).train()
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert model.stages[3].training


def test_norm_layer_is_configurable():
    model = GhostResNet(SHORT, ghost_ratio=4, norm_layer=lambda c: nn.GroupNorm(8, c))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) == 1 + 5 * 6 + 4
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32))[-1].shape == (1, 2048, 1, 1)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        GhostResNet(out_indices=(4,))
    with pytest.raises(ValueError):
        GhostResNet(layers=(2, 2, 2))


def test_intrinsic_channel_count_rounds_up():
    assert GhostModule(8, 64, ratio=6).primary_conv[0].out_channels == math.ceil(64 / 6)
