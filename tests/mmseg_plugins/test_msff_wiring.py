"""MSFF-SegNeXt's decoder is wired as spec 000 §2.0 says, observed from outside with forward hooks
on the whole segmentor (data preprocessor -> MSCAN -> MSFFHead):

    X  = squeeze(cat(resize(s2, s3, s4)))
    D1 = align(Hamburger(X))
    G  = EGA(x = resize(s4) to the stage-2 grid, pred = D1, edge = Sobel(gray(image in [0, 1])))
    Y  = squeeze1(cat(D1, G));  Y = align(Hamburger(Y)) (shared, "Multi") / align2(Hamburger2(Y))
         (separate) / Y = align(Y) ("One")
    logits = conv_seg(Y)

(a) the second Hamburger runs exactly when ``num_hamburgers=2`` (with ``share_hamburger=True`` it is
the first one's module object, called twice); (b) EGA's ``x`` is the backbone's stage-4 output resized
to the decoder grid and ``pred`` is D1; (c) EGA's ``edge`` is the Sobel magnitude of the
de-normalised RGB image, computed here independently with numpy.
"""
import copy
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.config import Config  # noqa: E402
from mmseg.models.decode_heads.ham_head import Hamburger  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

import mmseg_plugins  # noqa: E402,F401
from conftest import REPO_ROOT  # noqa: E402

register_all_modules(init_default_scope=True)
CONFIG = osp.join(REPO_ROOT, 'configs', 'msff_segnext', 'msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py')
SIZE = 64
# (num_hamburgers, share_hamburger): Table 6 "One", "Multi" (shared, the paper's), and the separate variant (A4)
VARIANTS = [(1, True), (2, True), (2, False)]


def build(num_hamburgers, share_hamburger):
    cfg = copy.deepcopy(Config.fromfile(CONFIG).model)
    assert cfg.type == 'EdgeGuidedEncoderDecoder' and cfg.decode_head.edge_operator == 'sobel'
    cfg.decode_head.update(num_hamburgers=num_hamburgers, share_hamburger=share_hamburger)
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def images():
    """Two RGB uint8 images whose channels differ, so RGB/BGR mix-ups change the luma."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, SIZE, SIZE, 3), dtype=np.uint8)
    rgb[0, :, : SIZE // 2, 0] = 255  # a hard vertical edge in the red channel only
    rgb[1, SIZE // 3:, :, 2] = 0     # and a horizontal one in the blue channel only
    return rgb


def sobel_numpy(rgb_uint8):
    """Independent reference: luma (ITU-R 601, as torchvision) of the [0, 1] RGB image, 3x3 Sobel
    with replicated borders, magnitude sqrt(Gx^2 + Gy^2); float64. (N, H, W, 3) -> (N, 1, H, W)."""
    img = rgb_uint8.astype(np.float64) / 255.0
    gray = 0.2989 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    p = np.pad(gray, ((0, 0), (1, 1), (1, 1)), mode='edge')
    c = lambda dy, dx: p[:, 1 + dy:p.shape[1] - 1 + dy, 1 + dx:p.shape[2] - 1 + dx]  # noqa: E731
    gx = (c(-1, 1) + 2 * c(0, 1) + c(1, 1)) - (c(-1, -1) + 2 * c(0, -1) + c(1, -1))
    gy = (c(1, -1) + 2 * c(1, 0) + c(1, 1)) - (c(-1, -1) + 2 * c(-1, 0) + c(-1, 1))
    return np.sqrt(gx ** 2 + gy ** 2)[:, None]


def run_with_hooks(model, rgb):
    """Runs the segmentor on ``rgb`` (given to the preprocessor as BGR, as mmcv loads images) and
    records ``(inputs, output)`` of every call of the modules of interest, in call order."""
    head = model.decode_head
    watched = dict(backbone=model.backbone, squeeze=head.squeeze, hamburger=head.hamburger, align=head.align,
                   ega=head.ega, squeeze1=head.squeeze1, conv_seg=head.conv_seg)
    for extra in ('hamburger2', 'align2'):
        if hasattr(head, extra):
            watched[extra] = getattr(head, extra)
    calls, order = defaultdict(list), []

    def recorder(name):
        def hook(module, args, output):
            calls[name].append((args, output))
            order.append(name)
        return hook

    handles = [m.register_forward_hook(recorder(n)) for n, m in watched.items()]
    bgr = [torch.from_numpy(im[..., ::-1].copy()).permute(2, 0, 1) for im in rgb]
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=bgr), training=False)
        model.encode_decode(data['inputs'], [dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE))] * len(bgr))
    for h in handles:
        h.remove()
    return calls, order


@pytest.fixture(scope='module', params=VARIANTS, ids=lambda v: f'hamburgers{v[0]}-{"shared" if v[1] else "separate"}')
def traced(request):
    num, share = request.param
    model = build(num, share)
    calls, order = run_with_hooks(model, images())
    return num, share, model, calls, order


def test_a_second_hamburger_runs_exactly_when_configured(traced):
    num, share, model, calls, order = traced
    head = model.decode_head
    hamburgers = [m for m in head.modules() if isinstance(m, Hamburger)]
    y = calls['squeeze1'][0][1]  # Fea block 2: squeeze1(cat(D1, G))
    if num == 1:
        assert hamburgers == [head.hamburger] and not hasattr(head, 'hamburger2')
        assert len(calls['hamburger']) == 1 and len(calls['align']) == 2
        assert calls['align'][1][0][0] is y  # Y goes straight to the MLP's align, no Hamburger
        final = calls['align'][1][1]
    elif share:
        # one module object, the same one as the first Hamburger, called a second time on Y
        assert hamburgers == [head.hamburger] and not hasattr(head, 'hamburger2')
        assert len(calls['hamburger']) == 2 and len(calls['align']) == 2
        assert calls['hamburger'][1][0][0] is y
        assert calls['align'][1][0][0] is calls['hamburger'][1][1]
        final = calls['align'][1][1]
    else:
        assert len(hamburgers) == 2 and head.hamburger2 is not head.hamburger and head.align2 is not head.align
        assert len(calls['hamburger']) == 1 and len(calls['hamburger2']) == 1
        assert len(calls['align']) == 1 and len(calls['align2']) == 1
        assert calls['hamburger2'][0][0][0] is y
        assert calls['align2'][0][0][0] is calls['hamburger2'][0][1]
        final = calls['align2'][0][1]
    assert order.index('ega') < order.index('squeeze1')
    assert [n for n in order if n.startswith('hamburger')] == (['hamburger'] * num if share else
                                                               ['hamburger', 'hamburger2'])
    assert torch.allclose(calls['conv_seg'][0][0][0], final)  # the classifier sees the last Fea output


def test_b_ega_gets_stage4_and_the_first_decoder_output(traced):
    _, _, model, calls, _ = traced
    (stages,) = [out for _, out in calls['backbone']]
    assert len(stages) == 4 and stages[3].shape[1] == 256
    grid = stages[1].shape[2:]  # the decoder works on the stage-2 grid (H/8)
    resized = [F.interpolate(s, size=grid, mode='bilinear', align_corners=False) for s in stages[1:]]
    # first Hamburger on squeeze(cat(s2, s3, s4))
    assert torch.allclose(calls['squeeze'][0][0][0], torch.cat(resized, dim=1))
    assert calls['hamburger'][0][0][0] is calls['squeeze'][0][1]
    assert calls['align'][0][0][0] is calls['hamburger'][0][1]
    d1 = calls['align'][0][1]
    (args, g), = calls['ega']
    x, pred, edge = args
    assert x.shape == (2, 256, *grid)
    assert torch.allclose(x, resized[-1], atol=1e-6)  # stage 4, not stage 3 or the fused X
    assert pred is d1
    assert torch.allclose(calls['squeeze1'][0][0][0], torch.cat([d1, g], dim=1))


def test_c_edge_is_the_sobel_map_of_the_denormalised_rgb_image(traced):
    _, _, _, calls, _ = traced
    (args, _), = calls['ega']
    edge = args[2]
    rgb = images()
    expected = sobel_numpy(rgb)
    assert edge.shape == (2, 1, SIZE, SIZE)  # native resolution
    assert torch.allclose(edge.double(), torch.from_numpy(expected), atol=1e-4)
    # the check can fail: the same operator on BGR order, or on the normalised tensor, differs
    assert not np.allclose(sobel_numpy(rgb[..., ::-1]), expected, atol=1e-2)
    normalised = (rgb - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    assert not np.allclose(sobel_numpy(normalised * 255.0), expected, atol=1e-2)
