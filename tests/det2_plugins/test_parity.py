"""Parity across frameworks: the backbone + neck of a model built from its MMDetection config and
from its Detectron2 config compute the same function.

Models: YOLACT-CIS (Ghost-ResNet-50 -> DFFN + DDAM; ``mmdet_plugins.GhostResNet`` / ``DFFN`` vs
``det2_plugins.backbone.build_ghost_resnet_dffn_backbone``), R-Mask R-CNN (ResNet-50 -> B-U-CA-SA
FPN; mmdet's ``ResNet`` + ``mmdet_plugins.BUCASAFPN`` vs Detectron2's ResNet +
``build_resnet_bucasa_fpn_backbone``) and the two baselines (Mask R-CNN: mmdet ResNet + FPN vs
Detectron2 ResNet + FPN; YOLACT-R50: mmdet ResNet + ``DFFN`` without bottom-up path and DDAM, i.e.
YOLACT's FPN, vs hemaseg's plain ResNet + the same neck).

Each pair is built from the repository's configs; the mmdet weights (BatchNorm statistics made
non-trivial) are copied into the Detectron2 model through a state-dict key mapping, built from
renaming rules, that must cover every parameter and buffer of both sides exactly once with equal
shapes; then, in eval mode on the same random 128x128 input, the bottom-up stage outputs and every
output level (and YOLACT's protonet source) must agree.
"""
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn

pytest.importorskip('detectron2', reason='Detectron2 is not installed (it is not on PyPI: build it from '
                                         'source: DETECTRON2_SOURCE=<tarball, clone or git URL> bash tools/setup_env.sh)')
pytest.importorskip('mmdet', reason='MMDetection not installed (run tools/setup_env.sh)')

from detectron2.config import get_cfg  # noqa: E402
from detectron2.modeling import build_backbone  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from conftest import REPO_ROOT  # noqa: E402
from det2_plugins import add_hemaseg_config  # noqa: E402

register_all_modules(init_default_scope=False)
SIZE = 128
# name: (mmdet config, Detectron2 config, Detectron2 bottom-up stages, Detectron2 output levels)
PAIRS = {
    'yolact-cis': ('configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py',
                   'configs/yolact_cis/detectron2/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550.yaml',
                   ['res3', 'res4', 'res5'], ['n3', 'n4', 'n5', 'n6', 'n7', 'proto']),
    'r-mask-rcnn': ('configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py',
                    'configs/r_mask_rcnn/detectron2/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.yaml',
                    ['res2', 'res3', 'res4', 'res5'], ['p2', 'p3', 'p4', 'p5', 'p6']),
    'mask-rcnn': ('configs/r_mask_rcnn/mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py',
                  'configs/r_mask_rcnn/detectron2/mask-rcnn_r50_fpn_1xb4-12k_wbc-512.yaml',
                  ['res2', 'res3', 'res4', 'res5'], ['p2', 'p3', 'p4', 'p5', 'p6']),
    'yolact-r50': ('configs/yolact_cis/yolact_r50_fpn_1xb16-12k_wbc-550x550.py',
                   'configs/yolact_cis/detectron2/yolact_r50_fpn_1xb16-12k_wbc-550.yaml',
                   ['res3', 'res4', 'res5'], ['p3', 'p4', 'p5', 'p6', 'p7', 'proto']),
}


@pytest.fixture(autouse=True, scope='module')
def mmdet_scope_one_thread():
    """mmdet registry scope for this module only (the mmseg tests set theirs as default), one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
    torch.set_num_threads(threads)


def build_mmdet(config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))  # custom_imports loads mmdet_plugins
    torch.manual_seed(1)
    # At the build itself: a scope set by an earlier test (e.g. a Runner's 'mmseg') would otherwise win.
    with DefaultScope.overwrite_default_scope('mmdet'):
        return nn.ModuleDict(dict(backbone=MODELS.build(cfg.model.backbone), neck=MODELS.build(cfg.model.neck)))


def build_det2(config):
    cfg = get_cfg()
    add_hemaseg_config(cfg)
    cfg.merge_from_file(osp.join(REPO_ROOT, config))
    cfg.merge_from_list(['MODEL.DEVICE', 'cpu'])
    torch.manual_seed(2)
    return build_backbone(cfg)


def rename(key, rules):
    """Applies the one rule of ``rules`` ((pattern, replacement), ...) that matches ``key``."""
    hits = [re.sub(pattern, repl, key) for pattern, repl in rules if re.search(pattern, key)]
    assert len(hits) == 1, f'{key}: {len(hits)} renaming rules apply'
    return hits[0]


def _stage(m, offset):
    return int(m[1]) + offset


# mmdet ResNet (style 'pytorch') -> Detectron2 ResNet
MMDET_TO_D2_RESNET = [
    (r'^conv1\.weight$', 'stem.conv1.weight'),
    (r'^bn1\.(\w+)$', r'stem.conv1.norm.\1'),
    (r'^layer(\d)\.(\d+)\.conv(\d)\.weight$', lambda m: f'res{_stage(m, 1)}.{m[2]}.conv{m[3]}.weight'),
    (r'^layer(\d)\.(\d+)\.bn(\d)\.(\w+)$', lambda m: f'res{_stage(m, 1)}.{m[2]}.conv{m[3]}.norm.{m[4]}'),
    (r'^layer(\d)\.(\d+)\.downsample\.0\.weight$', lambda m: f'res{_stage(m, 1)}.{m[2]}.shortcut.weight'),
    (r'^layer(\d)\.(\d+)\.downsample\.1\.(\w+)$', lambda m: f'res{_stage(m, 1)}.{m[2]}.shortcut.norm.{m[3]}'),
]
# mmdet ResNet -> hemaseg GhostResNet(ghost_ratio=None) (ConvNormAct = Sequential(conv, norm[, act]))
MMDET_TO_HEMASEG_RESNET = [
    (r'^conv1\.weight$', 'stem.0.0.weight'),
    (r'^bn1\.(\w+)$', r'stem.0.1.\1'),
    (r'^layer(\d)\.(\d+)\.conv(\d)\.weight$', lambda m: f'stages.{_stage(m, -1)}.{m[2]}.conv{m[3]}.0.weight'),
    (r'^layer(\d)\.(\d+)\.bn(\d)\.(\w+)$', lambda m: f'stages.{_stage(m, -1)}.{m[2]}.conv{m[3]}.1.{m[4]}'),
    (r'^layer(\d)\.(\d+)\.downsample\.(\d)\.(\w+)$',
     lambda m: f'stages.{_stage(m, -1)}.{m[2]}.downsample.{m[3]}.{m[4]}'),
]
# mmdet FPN -> Detectron2 FPN (levels from P2)
MMDET_TO_D2_FPN = [
    (r'^lateral_convs\.(\d)\.conv\.(\w+)$', lambda m: f'fpn_lateral{_stage(m, 2)}.{m[2]}'),
    (r'^fpn_convs\.(\d)\.conv\.(\w+)$', lambda m: f'fpn_output{_stage(m, 2)}.{m[2]}'),
    # GroupNorm of the FPN convolutions (the Mask R-CNN configs): mmcv names it gn, Detectron2 norm
    (r'^lateral_convs\.(\d)\.gn\.(\w+)$', lambda m: f'fpn_lateral{_stage(m, 2)}.norm.{m[2]}'),
    (r'^fpn_convs\.(\d)\.gn\.(\w+)$', lambda m: f'fpn_output{_stage(m, 2)}.norm.{m[2]}'),
]


def det2_key(name, mm_key):
    """mmdet key (``backbone.*`` / ``neck.*``) -> the Detectron2 backbone's key."""
    part, rest = mm_key.split('.', 1)
    if part == 'backbone':
        if name == 'yolact-cis':  # both are hemaseg's GhostResNet
            return f'bottom_up.body.{rest}'
        if name == 'yolact-r50':
            return f'bottom_up.body.{rename(rest, MMDET_TO_HEMASEG_RESNET)}'
        return f'bottom_up.{rename(rest, MMDET_TO_D2_RESNET)}'
    if name in ('yolact-cis', 'r-mask-rcnn', 'yolact-r50'):  # both are the same hemaseg neck
        return f'neck.{rest}'
    return rename(rest, MMDET_TO_D2_FPN)


def all_tensors(module):
    """Names of every parameter and buffer, as ``state_dict`` names them."""
    names = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    assert len(names) == len(set(names))
    return set(names)


def key_mapping(name, mm, d2):
    mm_sd, d2_sd = mm.state_dict(), d2.state_dict()
    # state_dict holds every parameter and buffer of both models (no non-persistent buffers to miss)
    assert set(mm_sd) == all_tensors(mm) and set(d2_sd) == all_tensors(d2)
    mapping = {k: det2_key(name, k) for k in mm_sd}
    targets = list(mapping.values())
    assert len(set(targets)) == len(targets), 'two mmdet tensors map to the same Detectron2 tensor'
    assert set(targets) == set(d2_sd), (f'unmapped Detectron2 tensors {sorted(set(d2_sd) - set(targets))[:5]}, '
                                        f'unknown targets {sorted(set(targets) - set(d2_sd))[:5]}')
    for k, v in mapping.items():
        assert mm_sd[k].shape == d2_sd[v].shape, (k, v, mm_sd[k].shape, d2_sd[v].shape)
    return mapping


def randomise(model):
    """Non-trivial weights everywhere, BatchNorm statistics and GroupNorm affine parameters included
    (default ones are 0 / 1 on both sides and would hide a mix-up of running_mean and running_var)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.GroupNorm):  # default 1 / 0 would hide swapped weight and bias too
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


def mmdet_outputs(name, mm, x):
    """``(bottom-up stage outputs, {level name: map})``, levels named as the Detectron2 backbone names them."""
    stages = mm['backbone'](x)
    levels = PAIRS[name][3]
    if name == 'yolact-cis':
        outs, (proto,) = mm['neck'].forward_with_prototype_input(stages)  # what the YOLACTCIS detector calls
        assert all(torch.equal(a, b) for a, b in zip(outs, mm['neck'](stages)))
        outs = (*outs, proto)
    elif name == 'yolact-r50':
        outs = mm['neck'](stages)
        outs = (*outs, outs[0])  # mmdet's YOLACT feeds the protonet the first level
    else:
        outs = mm['neck'](stages)
    assert len(outs) == len(levels)
    return stages, dict(zip(levels, outs))


def close(a, b):
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, a.abs().max().item()))


@pytest.mark.parametrize('name', ['yolact-cis', 'r-mask-rcnn', 'mask-rcnn', 'yolact-r50'])
def test_mmdet_and_detectron2_backbones_agree(name):
    mm_config, d2_config, stage_names, _ = PAIRS[name]
    mm, d2 = build_mmdet(mm_config).eval(), build_det2(d2_config).eval()
    mapping = key_mapping(name, mm, d2)
    randomise(mm)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        stages, expected = mmdet_outputs(name, mm, x)
        before = d2(x)
        assert list(before) == list(expected)  # same levels, same order
        assert not all(close(before[k], expected[k]) for k in expected)  # the comparison can fail
        d2.load_state_dict({mapping[k]: v for k, v in mm.state_dict().items()}, strict=True)
        got = d2(x)
        bottom_up = d2.bottom_up(x)
    assert list(bottom_up) == stage_names and len(stages) == len(stage_names)
    for (stage, d2_map), mm_map in zip(bottom_up.items(), stages):
        assert close(d2_map, mm_map), f'{name} {stage}: max |diff| {(d2_map - mm_map).abs().max():.3g}'
    shapes = d2.output_shape()
    for level, mm_map in expected.items():
        assert got[level].shape[-1] == -(-SIZE // shapes[level].stride)  # the stride Detectron2 declares
    differ = {level: f'{(got[level] - mm_map).abs().max():.3g}' for level, mm_map in expected.items()
              if not close(got[level], mm_map)}
    assert not differ, f'{name}: levels differ, max |diff| {differ}'
