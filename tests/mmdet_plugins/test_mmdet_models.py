"""mmdet side: the adapters (GhostResNet, DFFN, BUCASAFPN, YOLACTCIS), every instance-segmentation
config (build, parameter counts, loss, backward, predict) and a real train -> checkpoint ->
COCO evaluation run of YOLACT-CIS and R-Mask R-CNN through tools/train.py and tools/test.py
on a tiny synthetic COCO data set written by the test itself."""
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

pytest.importorskip('mmdet', reason='mmdet is not installed (OpenMMLab detection stack, see tools/setup_env.sh)')
pytest.importorskip('mmcv.ops', reason='mmcv was built without its compiled ops (RoIAlign, NMS)')

from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmdet_plugins  # noqa: E402,F401  (registers the adapters)
from conftest import REPO_ROOT, run_tool  # noqa: E402
from hemaseg.blocks import AttentionFPN, DualStreamFeatureFusion, SemanticFusionMaskHead, ghost_resnet50  # noqa: E402
from instance_param_counts import MASK_RCNN_PAIRS, MASK_RCNN_PARTS, TOTAL_PARAMS  # noqa: E402
from mmdet.registry import DATASETS, MODELS  # noqa: E402

CONFIGS = {
    'yolact-cis': 'configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py',
    'yolact-ghost-fpn': 'configs/yolact_cis/yolact_ghost-r50-s4_fpn_1xb16-12k_wbc-550x550.py',
    'yolact-ghost-fpn-ddam': 'configs/yolact_cis/yolact_ghost-r50-s4_fpn-ddam_1xb16-12k_wbc-550x550.py',
    'yolact-r50': 'configs/yolact_cis/yolact_r50_fpn_1xb16-12k_wbc-550x550.py',
    'r-mask-rcnn': 'configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py',
    'mask-rcnn': 'configs/r_mask_rcnn/mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py',
    'mask-rcnn-bu-ca-sa-fpn': 'configs/r_mask_rcnn/mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py',
    'mask-rcnn-fusion-mask-head': 'configs/r_mask_rcnn/mask-rcnn_r50_fpn_fusion-mask-head_1xb4-12k_wbc-512.py',
}
GHOST_S4_PARAMS = 8_153_504  # hemaseg's Ghost-ResNet-50, S = 4, no FC (spec 001 Table 2: 8.16 M)
RESNET50_PARAMS = 23_508_032  # torchvision / mmdet ResNet-50 without FC
SPLITS = {'train': [0, 1, 2, 3], 'val': [4, 5], 'test': [3, 4, 5]}
SIZE = 64  # network input of the in-process tests (CPU time)


@pytest.fixture(autouse=True, scope='module')
def mmdet_scope_single_thread():
    """mmdet registry scope for this module only (the mmseg tests need theirs), and one thread:
    tiny tensors on a shared CPU stall on OpenMP synchronisation otherwise (5-10x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
    torch.set_num_threads(threads)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_config(name: str) -> Config:
    from mmengine_plugins.config import resolve_fold  # what tools/train.py does: fill the '{fold}' of the ann_files
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[name]))
    resolve_fold(cfg)
    return cfg


# --------------------------------------------------------------------------- tiny COCO data set
def write_tiny_coco(root: str, num_images: int = 6, size: int = 128, seed: int = 0) -> str:
    """``num_images`` RGB images with 1-3 elliptical 'cells' each, in the WBC COCO layout
    (images/, annotations/fold0_{train,val,test}.json, one category 'cell' with id 1).
    Even images carry polygons, odd ones compressed RLE (the converters write both)."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for img_id in range(num_images):
        img = np.full((size, size, 3), (205, 190, 225), np.uint8)  # pale pink background (BGR)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            center = tuple(int(c) for c in rng.integers(28, size - 28, 2))
            axes = (int(rng.integers(12, 24)), int(rng.integers(10, 20)))
            poly = cv2.ellipse2Poly(center, axes, int(rng.integers(0, 180)), 0, 360, 12)
            cv2.fillPoly(img, [poly], (150, 70, 120))  # cytoplasm
            cv2.fillPoly(img, [((poly - center) * 0.5 + center).astype(np.int32)], (110, 30, 70))  # nucleus
            if img_id % 2 == 0:
                segm = [poly.astype(float).ravel().tolist()]
            else:
                mask = cv2.fillPoly(np.zeros((size, size), np.uint8), [poly], 1)
                segm = mask_utils.encode(np.asfortranarray(mask))
                segm['counts'] = segm['counts'].decode()
            rle = mask_utils.frPyObjects(segm, size, size) if isinstance(segm, list) else segm
            annotations.append(dict(id=len(annotations) + 1, image_id=img_id, category_id=1, iscrowd=0,
                                    segmentation=segm, area=float(mask_utils.area(rle).sum()),
                                    bbox=[float(v) for v in mask_utils.toBbox(rle).reshape(-1, 4)[0]]))
        name = f'cell_{img_id:02d}.png'
        cv2.imwrite(osp.join(root, 'images', name), img)
        images.append(dict(id=img_id, file_name=name, height=size, width=size))
    for split, ids in SPLITS.items():
        coco = dict(images=[images[i] for i in ids], annotations=[a for a in annotations if a['image_id'] in ids],
                    categories=[dict(id=1, name='cell')])
        with open(osp.join(root, 'annotations', f'fold0_{split}.json'), 'w') as f:
            json.dump(coco, f)
    return root


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    return write_tiny_coco(str(tmp_path_factory.mktemp('tiny_coco')))


def tiny_batch(root: str, split: str, indices, keep_ratio: bool) -> list:
    """Samples of the tiny set through a SIZE x SIZE pipeline (as the data loader yields them)."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=keep_ratio),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]
    ds = DATASETS.build(dict(type='CocoDataset', data_root=root, ann_file=f'annotations/fold0_{split}.json',
                             data_prefix=dict(img='images/'), metainfo=dict(classes=('cell', )),
                             test_mode=split != 'train', pipeline=pipeline))
    return pseudo_collate([ds[i] for i in indices])


# --------------------------------------------------------------------------- adapters
def test_ghost_backbone_adapter_is_hemaseg_ghost_resnet():
    model = MODELS.build(dict(type='GhostResNet', depth=50, ghost_ratio=4, out_indices=(1, 2, 3)))
    ref = ghost_resnet50(4, out_indices=(1, 2, 3))
    assert n_params(model) == n_params(ref) == GHOST_S4_PARAMS
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    model.eval(), ref.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outs, ref_outs = model(x), ref(x)
    assert isinstance(outs, tuple) and [o.shape[1:] for o in outs] == [(512, 8, 8), (1024, 4, 4), (2048, 2, 2)]
    for o, r in zip(outs, ref_outs):
        torch.testing.assert_close(o, r)


def test_ghost_backbone_mmdet_arguments(tmp_path):
    frozen = MODELS.build(dict(type='GhostResNet', frozen_stages=1, norm_eval=True)).train()
    assert not any(p.requires_grad for m in (frozen.stem, frozen.stages[0]) for p in m.parameters())
    assert all(p.requires_grad for p in frozen.stages[1].parameters())
    assert not any(m.training for m in frozen.modules() if isinstance(m, torch.nn.BatchNorm2d))

    gn = MODELS.build(dict(type='GhostResNet', norm_cfg=dict(type='GN', num_groups=8)))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gn.modules())
    assert any(isinstance(m, torch.nn.GroupNorm) for m in gn.modules())
    no_grad_norm = MODELS.build(dict(type='GhostResNet', norm_cfg=dict(type='BN', requires_grad=False)))
    assert not any(p.requires_grad for m in no_grad_norm.modules() if isinstance(m, torch.nn.BatchNorm2d)
                   for p in m.parameters())
    with pytest.raises(KeyError):
        MODELS.build(dict(type='GhostResNet', depth=34))

    # The documented way to start from a local checkpoint of hemaseg's ghost_resnet50.
    ref = ghost_resnet50(4)
    torch.save(ref.state_dict(), tmp_path / 'ghost.pth')
    init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'ghost.pth'))
    model = MODELS.build(dict(type='GhostResNet', init_cfg=init_cfg))
    assert not torch.equal(model.stem[0][0].weight, ref.stem[0][0].weight)
    model.init_weights()
    for (name, p), q in zip(model.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(p, q), name


def test_dffn_neck_is_hemaseg_dffn_and_exposes_the_protonet_input():
    neck = MODELS.build(dict(type='DFFN', in_channels=[512, 1024, 2048], out_channels=256, num_outs=5))
    ref = DualStreamFeatureFusion((512, 1024, 2048), 256)
    assert n_params(neck) == n_params(ref)
    neck.load_state_dict(ref.state_dict())
    feats = (torch.randn(1, 512, 16, 16), torch.randn(1, 1024, 8, 8), torch.randn(1, 2048, 4, 4))
    with torch.no_grad():
        outs = neck(feats)
        head_feats, proto_feats = neck.forward_with_prototype_input(feats)
        ref_outs, ref_fused = ref(feats), ref.fuse(feats)
    assert isinstance(outs, tuple) and [o.shape[1:] for o in outs] == [(256, s, s) for s in (16, 8, 4, 2, 1)]
    for a, b, c in zip(outs, head_feats, ref_outs):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    assert len(proto_feats) == 1
    torch.testing.assert_close(proto_feats[0], ref_fused[0])  # N3 before DDAM
    assert not torch.allclose(proto_feats[0], outs[0])  # DDAM changes N3

    plain = MODELS.build(dict(type='DFFN', bottom_up=False, attention=False))
    assert n_params(plain) == n_params(DualStreamFeatureFusion(bottom_up=False, attention=False))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='DFFN', num_outs=2))


def test_bu_ca_sa_fpn_neck_is_hemaseg_attention_fpn():
    neck = MODELS.build(dict(type='BUCASAFPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5))
    ref = AttentionFPN((256, 512, 1024, 2048), 256, bottom_up_attention='ca-sa')
    assert n_params(neck) == n_params(ref)
    neck.load_state_dict(ref.state_dict())
    feats = tuple(torch.randn(1, c, s, s) for c, s in zip((256, 512, 1024, 2048), (32, 16, 8, 4)))
    with torch.no_grad():
        outs, ref_outs = neck(feats), ref(feats)
    assert isinstance(outs, tuple) and [o.shape[1:] for o in outs] == [(256, s, s) for s in (32, 16, 8, 4, 2)]
    for a, b in zip(outs, ref_outs):
        torch.testing.assert_close(a, b)
    assert len(MODELS.build(dict(type='BUCASAFPN', num_outs=4))(feats)) == 4
    literal = MODELS.build(dict(type='BUCASAFPN', literal=True, top_down_attention='ca-sa'))
    assert n_params(literal) == n_params(AttentionFPN(top_down_attention='ca-sa', literal=True))


# --------------------------------------------------------------------------- whole configs
@pytest.mark.parametrize('name', list(CONFIGS))
def test_config_builds_with_expected_parts(name):
    cfg = load_config(name)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.backbone.init_cfg is None  # nothing is downloaded
    assert cfg.val_evaluator.type == 'CocoMetric' and cfg.val_evaluator.metric == ['bbox', 'segm']
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_dataloader.dataset.metainfo.classes == ('cell', )
    model = MODELS.build(cfg.model)
    counts = {part: n_params(getattr(model, part)) for part in ('backbone', 'neck', 'bbox_head', 'mask_head',
                                                                   'rpn_head', 'roi_head') if hasattr(model, part)}
    print(f'\n{name}: {n_params(model):,} parameters ' + ', '.join(f'{k} {v:,}' for k, v in counts.items()))
    if name in TOTAL_PARAMS:  # the same count as the Detectron2 config of that name (tests/det2_plugins)
        assert n_params(model) == TOTAL_PARAMS[name]
    if 'ghost' in name or name == 'yolact-cis':
        assert type(model).__name__ == 'YOLACTCIS'
        assert counts['backbone'] == n_params(ghost_resnet50(4)) == GHOST_S4_PARAMS
    else:
        assert counts['backbone'] == RESNET50_PARAMS
    if name.startswith('yolact'):
        neck = cfg.model.neck
        if neck.type == 'DFFN':
            ref = DualStreamFeatureFusion(neck.in_channels, bottom_up=neck.bottom_up, attention=neck.attention)
            assert counts['neck'] == n_params(ref)
        base = MODELS.build(load_config('yolact-r50').model)
        assert counts['bbox_head'] == n_params(base.bbox_head) and counts['mask_head'] == n_params(base.mask_head)
    if name in MASK_RCNN_PARTS:
        parts = MASK_RCNN_PARTS[name]
        group_norm = lambda c: torch.nn.GroupNorm(32, c)  # noqa: E731  (the configs' GroupNorm, 32 groups)
        if 'neck' in parts:
            assert counts['neck'] == n_params(AttentionFPN(bottom_up_attention='ca-sa', norm_layer=group_norm))
        else:
            assert type(model.neck).__name__ == 'FPN'
        # spec 004 §2.2.8 (B): the fusion mask head is the hemaseg block
        head = type(model.roi_head.mask_head).__name__
        assert head == ('SemanticFusionMaskHead' if 'mask_head' in parts else 'FCNMaskHead')
        if 'mask_head' in parts:
            assert n_params(model.roi_head.mask_head) == n_params(SemanticFusionMaskHead(num_classes=1,
                                                                                       norm_layer=group_norm))
        ratio_1 = [a[1] for a in model.rpn_head.prior_generator.base_anchors]  # ratios (0.5, 1, 2)
        assert [float(a[2] - a[0]) for a in ratio_1] == [16, 32, 64, 128, 256]  # paper §2.2.7, every config


def flat(value, prefix=''):
    """``{'a.b.0.c': leaf}`` of nested dicts and lists."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {prefix: value}
    out = {}
    for k, v in items:
        out.update(flat(v, f'{prefix}.{k}' if prefix else str(k)))
    return out or {prefix: value}


def differing_parts(a: dict, b: dict) -> set:
    """The parts (neck, mask_head, or else the full key) in which two flattened configs differ."""
    keys = {k for k in a.keys() | b.keys() if a.get(k, KeyError) != b.get(k, KeyError)}
    return {'neck' if k.startswith('model.neck.') else 'mask_head' if k.startswith('model.roi_head.mask_head.')
            else k for k in keys}


@pytest.mark.parametrize('a, b', MASK_RCNN_PAIRS)
def test_mask_rcnn_configs_differ_only_in_neck_and_mask_head(a, b):
    """Baseline, R-Mask R-CNN and the two ablations: data, schedule, anchors, RPN / box head and
    training settings are the same; each pair differs exactly in the parts one of them changes."""
    fa, fb = flat(load_config(a).to_dict()), flat(load_config(b).to_dict())
    assert differing_parts(fa, fb) == MASK_RCNN_PARTS[a] ^ MASK_RCNN_PARTS[b]


@pytest.mark.parametrize('name', ['yolact-cis', 'yolact-r50', 'r-mask-rcnn', 'mask-rcnn', 'mask-rcnn-bu-ca-sa-fpn',
                                  'mask-rcnn-fusion-mask-head'])
def test_config_model_loss_backward_and_predict(name, tiny_coco):
    torch.manual_seed(0)
    cfg = load_config(name)
    if name.startswith('yolact'):  # anchors laid on the level grids of a small input
        cfg.model.bbox_head.anchor_generator.update(strides=[8, 16, 32, 64, 128],
                                                    centers=[(4, 4), (8, 8), (16, 16), (32, 32), (64, 64)])
    else:  # fewer RoIs: the 4-conv mask head dominates CPU time
        cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
        cfg.model.train_cfg.rcnn.sampler.num = 16
        cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
        cfg.model.test_cfg.rcnn.max_per_img = 20
    model = MODELS.build(cfg.model).train()
    # One image (CPU time); batching and padding are exercised by the tools/ tests.
    data = model.data_preprocessor(tiny_batch(tiny_coco, 'train', [0], keep_ratio=not name.startswith('yolact')),
                                   True)
    losses = model(**data, mode='loss')
    expected = {'loss_cls', 'loss_bbox', 'loss_mask'} | ({'loss_segm'} if name.startswith('yolact')
                                                        else {'loss_rpn_cls', 'loss_rpn_bbox'})
    assert expected <= set(losses)
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert next(model.neck.lateral_convs[0].parameters()).grad is not None
    if name.startswith('yolact'):  # tensor mode: raw head outputs (YOLACTCIS routes the features itself)
        (cls_scores, _, _), (protos, _) = model(**data, mode='tensor')
        assert len(cls_scores) == 5 and protos[0].shape[:2] == (SIZE // 4, SIZE // 4)

    model.eval()
    seen = {}
    if name == 'yolact-cis':  # spec 001 §2.2 item 5: the protonet takes N3 before DDAM
        model.mask_head.protonet.register_forward_hook(lambda m, inputs, out: seen.update(proto_in=inputs[0]))
    with torch.no_grad():
        batch = model.data_preprocessor(tiny_batch(tiny_coco, 'test', [0], keep_ratio=True), False)
        results = model(**batch, mode='predict')
        if name == 'yolact-cis':
            fused = model.neck.fuse(model.backbone(batch['inputs']))
            torch.testing.assert_close(seen['proto_in'], fused[0])
            assert not torch.allclose(seen['proto_in'], model.neck.attend(fused)[0])
    pred = results[0].pred_instances
    assert len(pred) > 0 and pred.masks.shape[-2:] == (128, 128)  # rescaled to the original image
    assert pred.bboxes.shape == (len(pred), 4) and set(pred.labels.tolist()) <= {0}


@pytest.mark.parametrize('name, size', [('yolact-cis', (550, 550)), ('r-mask-rcnn', None)])
def test_config_pipelines_run_on_coco_data(name, size, tiny_coco):
    """The real configs' train/test pipelines (550x550 SSD augmentation, keep-ratio 512) on COCO files."""
    cfg = load_config(name)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = tiny_coco
        ds = DATASETS.build(ds_cfg)
        assert len(ds) == len(SPLITS[loader.split('_')[0]])
        sample = ds[0]
        h, w = sample['inputs'].shape[-2:]
        assert (h, w) == (size or (512, 512))
        gt = sample['data_samples'].gt_instances
        # Training targets follow the network input; evaluation keeps the original 128x128 masks.
        mask_size = (h, w) if loader == 'train_dataloader' else (128, 128)
        assert len(gt) > 0 and gt.masks.masks.shape[-2:] == mask_size and len(gt.masks) == len(gt.bboxes)


# --------------------------------------------------------------------------- tools/ end to end
TINY = {'yolact-cis': 'tests/configs/yolact_cis_tiny.py', 'r-mask-rcnn': 'tests/configs/r_mask_rcnn_tiny.py'}


def data_options(root: str) -> list:
    return ([f'{d}.dataset.data_root={root}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
            + [f'val_evaluator.ann_file={root}/annotations/fold0_val.json',
               f'test_evaluator.ann_file={root}/annotations/fold0_test.json'])


@pytest.mark.parametrize('name', list(TINY))
def test_train_then_test_tools_report_coco_metrics(name, tiny_coco, tmp_path):
    config = osp.join(REPO_ROOT, TINY[name])
    work = str(tmp_path / 'work')
    run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work,
              '--cfg-options', *data_options(tiny_coco)])
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    # Validation ran at the end of training and the best-mask-AP checkpoint was kept.
    assert glob.glob(osp.join(work, 'best_coco_segm_mAP_iter_4.pth'))
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    assert scalars and any('coco/segm_mAP' in line for line in open(scalars[0]))

    out = tmp_path / 'test'
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), config, osp.join(work, 'iter_4.pth'),
                     '--work-dir', str(out), '--cfg-options', *data_options(tiny_coco)])
    metrics = json.load(open(out / 'test_metrics.json'))
    for task in ('bbox', 'segm'):
        for key in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
            assert f'coco/{task}_{key}' in metrics, sorted(metrics)
        assert 0.0 <= metrics[f'coco/{task}_mAP'] <= 1.0
    assert 'coco/segm_mAP' in proc.stdout
    # The test split (3 images) was evaluated, not the validation split.
    assert '3/3' in proc.stdout + proc.stderr

    # tools/infer.py on image files: overlays, instance-id maps and COCO-style predictions.
    images = sorted(glob.glob(osp.join(tiny_coco, 'images', '*')))[:2]
    infer_out = tmp_path / 'infer'
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'infer.py'), config, osp.join(work, 'iter_4.pth'), *images,
                     '--out', str(infer_out), '--score-thr', '0.0'])
    for img in images:
        stem = osp.splitext(osp.basename(img))[0]
        overlay = cv2.imread(str(infer_out / 'overlays' / f'{stem}.png'))
        assert overlay.shape == cv2.imread(img).shape
        assert cv2.imread(str(infer_out / 'instances' / f'{stem}.png'), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    preds = json.load(open(infer_out / 'predictions.json'))
    assert preds and {p['file_name'] for p in preds} <= {osp.basename(i) for i in images}
    assert '[2/2]' in proc.stdout
