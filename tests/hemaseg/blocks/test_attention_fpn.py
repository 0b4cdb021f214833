"""R-Mask R-CNN attention FPN + bottom-up path (spec 004 §2.2.2-2.2.6)."""
import pytest
import torch
import torch.nn as nn

from hemaseg.blocks.attention_fpn import (AttentionFPN, SoftmaxChannelAttention, SoftmaxSpatialAttention,
                                          build_attention)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def c2_c5(size=32, channels=(256, 512, 1024, 2048), batch=1):
    return [torch.randn(batch, c, size // 2 ** i, size // 2 ** i) for i, c in enumerate(channels)]


LATERALS = (256 + 512 + 1024 + 2048) * 256 + 4 * 256
CONV3 = 256 * 256 * 9 + 256
CA = 256 * 256 + 256
SA = 256 + 1


def test_zero_logits_give_exact_literal_shrink_and_identity_fix():
    x = torch.randn(2, 8, 5, 6)
    for literal, ca_scale, sa_scale in ((True, 1 / 8, 1 / 30), (False, 1.0, 1.0)):
        ca, sa = SoftmaxChannelAttention(8, literal), SoftmaxSpatialAttention(8, literal)
        for m in (ca.fc, sa.conv):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        torch.testing.assert_close(ca(x), x * ca_scale)
        torch.testing.assert_close(sa(x), x * sa_scale)


def test_softmax_weights_normalisation():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 7, 9)
    for literal in (True, False):
        ca_w = SoftmaxChannelAttention(16, literal).gate(x)
        sa_w = SoftmaxSpatialAttention(16, literal).gate(x)
        assert ca_w.shape == (2, 16, 1, 1) and sa_w.shape == (2, 1, 7, 9)
        # Literal: softmax sums to 1 over channels / pixels; fix: weights average exactly 1.
        torch.testing.assert_close(ca_w.sum(dim=1), torch.full((2, 1, 1), 1.0 if literal else 16.0))
        torch.testing.assert_close(sa_w.sum(dim=(2, 3)), torch.full((2, 1), 1.0 if literal else 63.0))
        assert (sa_w > 0).all() and (ca_w > 0).all()


def test_literal_shrinks_feature_magnitude_by_spatial_size():
    torch.manual_seed(0)
    x = torch.randn(1, 64, 32, 32)
    hw = 32 * 32
    literal = SoftmaxSpatialAttention(64, literal=True)
    fixed = SoftmaxSpatialAttention(64, literal=False)
    fixed.load_state_dict(literal.state_dict())
    ratio_literal = (literal(x).abs().mean() / x.abs().mean()).item()
    ratio_fixed = (fixed(x).abs().mean() / x.abs().mean()).item()
    assert 1 / (3 * hw) < ratio_literal < 3 / hw
    assert 1 / 3 < ratio_fixed < 3
    assert ratio_fixed == pytest.approx(hw * ratio_literal, rel=1e-4)


def test_build_attention_orders():
    assert isinstance(build_attention(None, 8), nn.Identity)
    assert isinstance(build_attention('none', 8), nn.Identity)
    ca_sa, sa_ca = build_attention('ca-sa', 8, literal=True), build_attention('sa-ca', 8)
    assert [type(m) for m in ca_sa] == [SoftmaxChannelAttention, SoftmaxSpatialAttention]
    assert [type(m) for m in sa_ca] == [SoftmaxSpatialAttention, SoftmaxChannelAttention]
    assert ca_sa[0].literal and not sa_ca[0].literal
    x = torch.randn(1, 8, 4, 4)
    torch.testing.assert_close(ca_sa(x), ca_sa[1](ca_sa[0](x)))
    for bad in ('ca-ca', 'ca-sa-ca', 'se', ''):
        with pytest.raises(ValueError):
            build_attention(bad, 8)


@pytest.mark.parametrize('kwargs, exact', [
    ({'bottom_up': False, 'bottom_up_attention': None}, 3_344_384),  # plain FPN = Detectron2 R50-FPN
    ({'bottom_up_attention': None}, 5_114_624),                      # FPN + bottom-up, no attention
    ({}, 5_312_771),                                                 # B-U-CA-SA (final model)
    ({'top_down_attention': 'ca-sa'}, 5_576_967),                    # + FPN-AM
])
def test_parameter_counts(kwargs, exact):
    model = AttentionFPN(**kwargs)
    bottom_up = kwargs.get('bottom_up', True)
    derived = (LATERALS + 4 * CONV3 + (3 * CONV3 if bottom_up else 0)
               + (3 * (CA + SA) if kwargs.get('bottom_up_attention', 'ca-sa') else 0)
               + (4 * (CA + SA) if kwargs.get('top_down_attention') else 0))
    assert exact == derived
    assert n_params(model) == exact


def test_output_levels_and_strides():
    neck = AttentionFPN()
    with torch.no_grad():
        outs = neck(c2_c5(64, batch=2))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(2, 256, s, s) for s in (64, 32, 16, 8, 4)]
    small = AttentionFPN(in_channels=(4, 8, 16, 32), out_channels=8, extra_level=False)
    assert len(small(c2_c5(16, (4, 8, 16, 32)))) == 4


def test_bottom_up_formula_and_n2_is_f2():
    torch.manual_seed(0)
    channels = (4, 8, 16, 32)
    neck = AttentionFPN(channels, out_channels=8)
    fpn = AttentionFPN(channels, out_channels=8, bottom_up=False, bottom_up_attention=None)
    missing, unexpected = fpn.load_state_dict(neck.state_dict(), strict=False)
    assert not missing and all(k.startswith(('downsample_convs', 'bottom_up_attentions')) for k in unexpected)
    feats = c2_c5(32, channels)
    with torch.no_grad():
        n = neck(feats)
        f = fpn(feats)
        torch.testing.assert_close(n[0], f[0])  # N2 = F2
        expected = [f[0]]
        for k in range(3):
            ca, sa = neck.bottom_up_attentions[k]
            expected.append(sa(ca(neck.downsample_convs[k](expected[-1]) + f[k + 1])))
        for got, want in zip(n[:4], expected):
            torch.testing.assert_close(got, want)
        torch.testing.assert_close(n[4], n[3][:, :, ::2, ::2])  # N6 = max-pool(k=1, s=2) of N5
        # Plain top-down: F5 = 3x3(lateral(C5)), F4 = 3x3(lateral(C4) + up2(lateral(C5))).
        l5 = fpn.lateral_convs[3](feats[3])
        torch.testing.assert_close(f[3], fpn.output_convs[3](l5))
        l4 = fpn.lateral_convs[2](feats[2]) + nn.functional.interpolate(l5, scale_factor=2, mode='nearest')
        torch.testing.assert_close(f[2], fpn.output_convs[2](l4))


def test_top_down_attention_is_applied_after_the_merge():
    torch.manual_seed(0)
    channels = (4, 8, 16, 32)
    neck = AttentionFPN(channels, out_channels=8, top_down_attention='sa', bottom_up=False,
                        bottom_up_attention=None, output_convs=False, extra_level=False)
    feats = c2_c5(16, channels)
    with torch.no_grad():
        outs = neck(feats)
        c5 = neck.lateral_convs[3](feats[3])
        c4 = neck.lateral_convs[2](feats[2]) + nn.functional.interpolate(c5, scale_factor=2)
        # The recursion uses the pre-attention C5, not F5.
        torch.testing.assert_close(outs[3], neck.top_down_attentions[3](c5))
        torch.testing.assert_close(outs[2], neck.top_down_attentions[2](c4))


def test_literal_attention_collapses_the_pyramid_and_fix_does_not():
    torch.manual_seed(0)
    channels = (4, 8, 16, 32)
    feats = c2_c5(32, channels)
    literal = AttentionFPN(channels, out_channels=16, literal=True)
    fixed = AttentionFPN(channels, out_channels=16)
    fixed.load_state_dict(literal.state_dict())
    plain = AttentionFPN(channels, out_channels=16, bottom_up_attention=None)
    plain.load_state_dict({k: v for k, v in literal.state_dict().items() if 'attentions' not in k})
    with torch.no_grad():
        ref = plain(feats)[3].abs().mean()
        shrink_literal = (literal(feats)[3].abs().mean() / ref).item()
        shrink_fixed = (fixed(feats)[3].abs().mean() / ref).item()
    # Literal CA-SA at N5 (4x4, 16 ch) divides by about C * H * W = 256.
    assert shrink_literal < 1 / 100
    assert 1 / 4 < shrink_fixed < 4


@pytest.mark.parametrize('kwargs', [{}, {'top_down_attention': 'sa-ca', 'bottom_up_attention': 'sa-ca'}])
def test_gradient_reaches_every_parameter(kwargs):
    channels = (4, 8, 16, 32)
    neck = AttentionFPN(channels, out_channels=16, **kwargs)
    outs = neck(c2_c5(32, channels, batch=2))
    sum(o.square().mean() for o in outs).backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_invalid_arguments():
    with pytest.raises(ValueError):
        AttentionFPN(bottom_up=False)  # default bottom_up_attention needs the bottom-up path
    with pytest.raises(ValueError):
        AttentionFPN(in_channels=(256,))
    with pytest.raises(ValueError):
        AttentionFPN()(c2_c5()[:3])
