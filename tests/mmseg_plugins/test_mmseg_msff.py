"""MSFF-SegNeXt in the mmseg registry: parameter counts, Table 6 switches, image hand-off."""
import copy
import os.path as osp

import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.config import Config  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

import mmseg_plugins  # noqa: E402,F401
from conftest import REPO_ROOT  # noqa: E402

register_all_modules(init_default_scope=True)
CFG = osp.join(REPO_ROOT, 'configs')


def build(config, **head):
    cfg = Config.fromfile(osp.join(CFG, config))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.decode_head.update(head)
    return MODELS.build(model_cfg)


def n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_parameter_counts_match_the_spec():
    # spec 000 §2.1: plain SegNeXt-T with 2 classes has 4,225,378 parameters and the
    # released MSFF-SegNeXt, dead encoder EGAs removed, 6,138,072.
    assert n_params(build('segnext/segnext_mscan-t_1xb8-4k_wbc-256x256.py')) == 4_225_378
    assert n_params(build('msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py')) == 6_138_072
    # spec 000 §2.4: a separate second Hamburger (131,840) and align (66,048) add 197,888.
    separate = build('msff_segnext/msff-segnext-sobel-multi-separate_mscan-t_1xb8-4k_wbc-256x256.py')
    assert n_params(separate) == 6_138_072 + 197_888


def head_kwargs(**over):
    kw = dict(in_channels=[64, 160, 256], in_index=[1, 2, 3], channels=256, ham_channels=256, dropout_ratio=0.1,
              num_classes=2, norm_cfg=dict(type='GN', num_groups=32, requires_grad=True), align_corners=False,
              ham_kwargs=dict(MD_S=1, MD_R=16, train_steps=6, eval_steps=7, inv_t=100, rand_init=True))
    kw.update(over)
    return kw


def fake_inputs(b=2, size=64):
    torch.manual_seed(1)
    feats = [torch.randn(b, c, size // s, size // s) for c, s in ((32, 4), (64, 8), (160, 16), (256, 32))]
    return feats + [torch.rand(b, 3, size, size)]


def test_head_without_ega_is_exactly_light_ham_head():
    plain = MODELS.build(dict(type='LightHamHead', **head_kwargs())).eval()
    msff = MODELS.build(dict(type='MSFFHead', edge_operator=None, num_hamburgers=1, **head_kwargs())).eval()
    assert list(msff.state_dict()) == list(plain.state_dict())
    msff.load_state_dict(plain.state_dict(), strict=True)
    inputs = fake_inputs()
    torch.manual_seed(0)  # NMF bases are drawn at random on every forward
    a = plain(inputs[:4])
    torch.manual_seed(0)
    b = msff(inputs)
    assert torch.equal(a, b)


@pytest.mark.parametrize('op,n,share', [('laplacian', 1, True), ('laplacian', 2, True), ('sobel', 1, True),
                                        ('sobel', 2, True), ('sobel', 2, False)])
def test_table6_rows_build_and_run(op, n, share):
    head = MODELS.build(dict(type='MSFFHead', edge_operator=op, num_hamburgers=n, share_hamburger=share,
                             **head_kwargs()))
    out = head(fake_inputs())
    assert out.shape == (2, 2, 8, 8)
    out.sum().backward()
    assert head.ega.fusion[0].weight.grad.abs().sum() > 0
    assert hasattr(head, 'hamburger2') == (n == 2 and not share)


def test_edge_operator_changes_the_output():
    torch.manual_seed(0)
    sobel = MODELS.build(dict(type='MSFFHead', edge_operator='sobel', **head_kwargs())).eval()
    la = MODELS.build(dict(type='MSFFHead', edge_operator='laplacian', **head_kwargs())).eval()
    la.load_state_dict(sobel.state_dict())
    inputs = fake_inputs()
    torch.manual_seed(0)
    a = sobel(inputs)
    torch.manual_seed(0)
    assert not torch.allclose(a, la(inputs))


def test_invalid_switches_are_explained():
    with pytest.raises(ValueError, match='Table 6'):
        MODELS.build(dict(type='MSFFHead', edge_operator=None, num_hamburgers=2, **head_kwargs()))
    with pytest.raises(ValueError, match='must be equal'):
        MODELS.build(dict(type='MSFFHead', **head_kwargs(channels=128)))


def test_plain_encoder_decoder_gives_a_clear_error():
    head = MODELS.build(dict(type='MSFFHead', **head_kwargs()))
    with pytest.raises(ValueError, match='EdgeGuidedEncoderDecoder'):
        head(fake_inputs()[:4])


def test_segmentor_hands_the_unnormalised_rgb_image_to_the_head():
    model = build('msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py').eval()
    bgr = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=[bgr]), training=False)
    feats = model.extract_feat(data['inputs'])
    assert len(feats) == 5
    expected_rgb01 = bgr.flip(0).float()[None] / 255.
    assert torch.allclose(feats[-1], expected_rgb01, atol=1e-5)
    logits = model.encode_decode(data['inputs'], [dict(img_shape=(64, 64), ori_shape=(64, 64))])
    assert logits.shape == (1, 2, 64, 64)


def test_bf16_autocast_forward_and_backward():
    model = build('msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py').train()
    x = torch.randn(2, 3, 64, 64)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = model.extract_feat(x)
        out = model.decode_head(feats)
    assert torch.isfinite(out.float()).all()
    out.float().sum().backward()
    assert model.decode_head.ega.fusion[0].weight.grad is not None
