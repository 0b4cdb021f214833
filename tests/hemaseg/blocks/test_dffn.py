"""DFFN neck (spec 001 §2.2) with DDAM per level (§2.3)."""
import pytest
import torch

from hemaseg.blocks.ddam import DualDomainAttention
from hemaseg.blocks.dffn import DualStreamFeatureFusion


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


CONV3 = 256 * 256 * 9 + 256
LATERALS = (512 + 1024 + 2048) * 256 + 3 * 256
DDAM = 8562


def c3_c5(sizes=(17, 9, 5), channels=(512, 1024, 2048), batch=1):
    return [torch.randn(batch, c, s, s) for c, s in zip(channels, sizes)]


@pytest.mark.parametrize('bottom_up, attention, exact', [
    (False, False, 3_868_672),  # YOLACT FPN (Table 5 rows 1-2): laterals + 3 smoothing + 2 extra convs
    (False, True, 3_911_482),   # FPN + DDAM (row 3): + 5 DDAMs
    (True, True, 6_271_802),    # DFFN + DDAM (row 4): + 2 stride-2 and 2 fusion convs
])
def test_parameter_counts(bottom_up, attention, exact):
    derived = LATERALS + (3 + 2 + (4 if bottom_up else 0)) * CONV3 + (5 * DDAM if attention else 0)
    assert exact == derived
    assert n_params(DualStreamFeatureFusion(bottom_up=bottom_up, attention=attention)) == exact


def test_output_levels_at_550_sizes():
    # C3..C5 of a 550x550 input are 69, 35, 18 (spec 001 §2.0); small channels keep it fast.
    neck = DualStreamFeatureFusion(in_channels=(8, 16, 32), out_channels=32,
                                   attention_kwargs={'reduction': 4})
    outs = neck(c3_c5((69, 35, 18), (8, 16, 32), batch=2))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(2, 32, s, s) for s in (69, 35, 18, 9, 5)]


def test_n3_is_p3_and_bottom_up_formula():
    torch.manual_seed(0)
    dffn = DualStreamFeatureFusion(in_channels=(8, 16, 32), out_channels=16, attention=False).eval()
    fpn = DualStreamFeatureFusion(in_channels=(8, 16, 32), out_channels=16, attention=False, bottom_up=False)
    missing, unexpected = fpn.load_state_dict(dffn.state_dict(), strict=False)
    assert not missing and all(k.startswith(('downsample_convs', 'fusion_convs')) for k in unexpected)
    feats = c3_c5(channels=(8, 16, 32))
    with torch.no_grad():
        n = dffn(feats)
        p = fpn(feats)
        torch.testing.assert_close(n[0], p[0])  # N3 = P3
        n4 = dffn.fusion_convs[0](p[1] + dffn.downsample_convs[0](p[0]))
        n5 = dffn.fusion_convs[1](p[2] + dffn.downsample_convs[1](n4))
        torch.testing.assert_close(n[1], n4)
        torch.testing.assert_close(n[2], n5)
        torch.testing.assert_close(n[3], dffn.extra_convs[0](n5))
        torch.testing.assert_close(n[4], dffn.extra_convs[1](n[3]))
    assert not torch.allclose(n[1], p[1])
    # N3..N5 end with ReLU; the extra stride-2 levels do not (YOLACT).
    assert all(x.min() >= 0 for x in n[:3]) and n[3].min() < 0


def test_top_down_is_yolact_fpn():
    torch.manual_seed(0)
    fpn = DualStreamFeatureFusion(in_channels=(8, 16), out_channels=16, attention=False, bottom_up=False,
                                  num_extra_levels=0)
    c3, c4 = c3_c5((9, 5), (8, 16))
    with torch.no_grad():
        p4 = fpn.lateral_convs[1](c4)
        up = torch.nn.functional.interpolate(p4, size=(9, 9), mode='bilinear', align_corners=False)
        p3 = fpn.lateral_convs[0](c3) + up
        expected = (fpn.fpn_convs[0](p3), fpn.fpn_convs[1](p4))
        for got, want in zip(fpn((c3, c4)), expected):
            torch.testing.assert_close(got, want)


def test_attention_after_each_level_and_proto_source():
    torch.manual_seed(0)
    neck = DualStreamFeatureFusion(in_channels=(8, 16, 32), out_channels=16,
                                   attention_kwargs={'reduction': 4, 'freqs': [(0, 0)]})
    assert len(neck.attentions) == 5 and all(isinstance(a, DualDomainAttention) for a in neck.attentions)
    assert neck.attentions[0].channel_attention.freqs == ((0, 0),)
    feats = c3_c5(channels=(8, 16, 32))
    with torch.no_grad():
        levels = neck.fuse(feats)
        outs = neck(feats)
        for att, level, out in zip(neck.attentions, levels, outs):
            torch.testing.assert_close(out, att(level))
    # fuse() keeps the pre-DDAM N3 for the protonet (spec 001 Appendix A #14).
    assert not torch.allclose(levels[0], outs[0])
    assert len(DualStreamFeatureFusion(attention=False).fuse(c3_c5())) == 5


def test_gradient_reaches_every_parameter():
    neck = DualStreamFeatureFusion(in_channels=(8, 16, 32), out_channels=32, attention_kwargs={'reduction': 4})
    outs = neck(c3_c5((17, 9, 5), (8, 16, 32), batch=2))
    sum(o.square().mean() for o in outs).backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_invalid_arguments():
    with pytest.raises(ValueError):
        DualStreamFeatureFusion(in_channels=(512,))
    with pytest.raises(ValueError):
        DualStreamFeatureFusion(attention=False, attention_kwargs={'reduction': 8})
    with pytest.raises(ValueError):
        DualStreamFeatureFusion()(c3_c5()[:2])
