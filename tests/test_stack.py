"""The whole stack in one process: torch + torchvision ops, and a model of each framework built from
this project's configs (MMSegmentation, MMDetection, MMPretrain, Detectron2) side by side, each
running a forward pass. Detectron2 is optional (built from a source the user names, see
tools/setup_env.sh); its part skips with the reason where it is not installed."""
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT


def test_torchvision_ops_match_torch():
    # A torchvision built against another torch imports but fails on its compiled ops.
    from torchvision.ops import nms, roi_align
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    pooled = roi_align(torch.arange(16.).view(1, 1, 4, 4), [torch.tensor([[0., 0., 4., 4.]])], output_size=1,
                       sampling_ratio=2, aligned=True)
    assert pooled.item() == pytest.approx(7.5)  # mean of 0..15


def _build_openmmlab(config: str, registry_module: str):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope, init_default_scope
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    for module in cfg.get('custom_imports', {}).get('imports', []):
        __import__(module)
    scope = cfg.get('default_scope')
    registry = __import__(registry_module, fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        init_default_scope(scope)
        return registry.build(cfg.model).eval()


def test_every_framework_builds_in_one_process():
    mmseg_model = _build_openmmlab('configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_synthetic-128x128.py',
                                   'mmseg.registry')
    mmdet_model = _build_openmmlab('configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py', 'mmdet.registry')

    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        classifier = PRETRAIN_MODELS.build(dict(
            type='ImageClassifier', backbone=dict(type='ResNet', depth=18), neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=512))).eval()

    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        seg_logits = mmseg_model(x, mode='tensor')
        det_feats = mmdet_model.extract_feat(x)
        cls_logits = classifier(x, mode='tensor')
    assert seg_logits.shape[:2] == (1, 2)
    assert len(det_feats) == 5 and det_feats[0].shape[1] == 256
    assert cls_logits.shape == (1, 2)

    detectron2 = pytest.importorskip('detectron2', reason='Detectron2 is not installed in this environment '
                                                          '(set DETECTRON2_SOURCE for tools/setup_env.sh)')
    import detectron2._C  # noqa: F401  (compiled ops present, not just the Python package)
    from detectron2.config import get_cfg
    from detectron2.modeling import build_model

    from det2_plugins import add_hemaseg_config
    cfg = get_cfg()
    add_hemaseg_config(cfg)
    cfg.merge_from_file(osp.join(REPO_ROOT, 'configs/r_mask_rcnn/detectron2/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.yaml'))
    cfg.MODEL.DEVICE = 'cpu'
    d2_model = build_model(cfg).eval()
    with torch.no_grad():
        d2_feats = d2_model.backbone(x)
    assert sorted(d2_feats) == ['p2', 'p3', 'p4', 'p5', 'p6']
    assert detectron2.__version__
