"""Detectron2 side: every yaml config builds with the expected parameter counts, and real WBC
data (../shared) trains a few iterations through tools/det2_train_net.py, is evaluated by
Detectron2's COCOEvaluator, resumes from its checkpoint and evaluates with --eval-only.

Detectron2 is not on PyPI; these tests skip, with the reason in pytest's summary, where it is not
installed. ``tools/setup_env.sh`` builds it into ``.venv`` from ``$DETECTRON2_SOURCE`` (CI: the
tarball in ../shared/vendor), so ``bash tools/run_tests.sh`` runs them with everything else.
"""
import json
import os
import os.path as osp
import glob
import re

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('detectron2', reason='Detectron2 is not installed (it is not on PyPI: build it from '
                                         'source: DETECTRON2_SOURCE=<tarball, clone or git URL> bash tools/setup_env.sh)')

from detectron2.config import get_cfg  # noqa: E402
from detectron2.engine import default_argument_parser  # noqa: E402
from detectron2.modeling import build_model  # noqa: E402

from conftest import REPO_ROOT, WBC_ROOT  # noqa: E402
from det2_plugins import add_hemaseg_config, register_coco_folder  # noqa: E402
from det2_plugins.apis import infer_images  # noqa: E402
from det2_plugins.data import DatasetNotFoundError  # noqa: E402
from det2_plugins.engine import train_net  # noqa: E402
from hemaseg.blocks import SemanticFusionMaskHead, ghost_resnet50, resnet50  # noqa: E402
from instance_param_counts import MASK_RCNN_PAIRS, MASK_RCNN_PARTS, TOTAL_PARAMS  # noqa: E402

CONFIGS = {
    'yolact-cis': 'configs/yolact_cis/detectron2/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550.yaml',
    'yolact-r50': 'configs/yolact_cis/detectron2/yolact_r50_fpn_1xb16-12k_wbc-550.yaml',
    'r-mask-rcnn': 'configs/r_mask_rcnn/detectron2/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.yaml',
    'mask-rcnn': 'configs/r_mask_rcnn/detectron2/mask-rcnn_r50_fpn_1xb4-12k_wbc-512.yaml',
    'mask-rcnn-bu-ca-sa-fpn': 'configs/r_mask_rcnn/detectron2/mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.yaml',
    'mask-rcnn-fusion-mask-head': 'configs/r_mask_rcnn/detectron2/mask-rcnn_r50_fpn_fusion-mask-head_1xb4-12k_wbc-512.yaml',
}
# The ablations train through the same code as R-Mask R-CNN and the baseline: only built here.
TRAINED = sorted(set(CONFIGS) - {'mask-rcnn-bu-ca-sa-fpn', 'mask-rcnn-fusion-mask-head'})
# The CPU schedules (800 iterations at 192 px) of the configs above, beside them in configs/*/detectron2/.
CPU_CONFIGS = sorted(osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', 'detectron2', '*_1xb4-800it_*.yaml')))
# Tiny runs: 128-px inputs, 2 images per batch.
SMALL = ['INPUT.FIXED_SIZE', '[128,128]', 'INPUT.MIN_SIZE_TRAIN', '(128,)', 'INPUT.MAX_SIZE_TRAIN', '128',
         'INPUT.MIN_SIZE_TEST', '128', 'INPUT.MAX_SIZE_TEST', '128', 'SOLVER.IMS_PER_BATCH', '2',
         'DATALOADER.NUM_WORKERS', '0', 'TEST.EVAL_PERIOD', '0', 'SEED', '0']


def train_net_cli(argv):
    """What ``tools/det2_train_net.py ARGV`` runs, in this process (so the results come back)."""
    return train_net(default_argument_parser().parse_args(argv))


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_cfg(path, *opts):
    cfg = get_cfg()
    add_hemaseg_config(cfg)
    cfg.merge_from_file(osp.join(REPO_ROOT, path))
    cfg.merge_from_list(['MODEL.DEVICE', 'cpu', *opts])
    return cfg


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope='module')
def wbc_coco_small(tmp_path_factory):
    """Real WBC images (Zheng 2018) in COCO form: 8 training and 6 validation images of fold 0."""
    if not osp.isdir(WBC_ROOT):
        pytest.skip(f'real WBC data not found at {WBC_ROOT}')
    from hemaseg.data.coco_converters import convert_wbc_coco
    root = tmp_path_factory.mktemp('wbc_coco')
    convert_wbc_coco(WBC_ROOT, root, log=lambda _: None)
    ann = root / 'annotations'
    for split, n in (('train', 8), ('val', 6)):
        data = json.loads((ann / f'fold0_{split}.json').read_text())
        # Both subsets (120x120 and 300x300 crops) in the small split.
        data['images'] = sorted(data['images'], key=lambda im: im['width'])[:n // 2] + \
            sorted(data['images'], key=lambda im: -im['width'])[:n - n // 2]
        ids = {im['id'] for im in data['images']}
        data['annotations'] = [a for a in data['annotations'] if a['image_id'] in ids]
        (ann / f'small_{split}.json').write_text(json.dumps(data))
    return str(root)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_configs_build_with_expected_parameters(name):
    model = build_model(make_cfg(CONFIGS[name]))
    if name.startswith('yolact'):
        body = model.backbone.bottom_up.body
        reference = ghost_resnet50(4) if name == 'yolact-cis' else resnet50()
        assert n_params(body) == n_params(reference)  # the hemaseg backbone, unchanged
        assert n_params(body) == (8_153_504 if name == 'yolact-cis' else 23_508_032)
    else:
        assert n_params(model.backbone.bottom_up) == 23_508_032  # Detectron2's ResNet-50 (BN), no FC
    assert n_params(model) == TOTAL_PARAMS[name]  # the same count as the mmdet config
    if name in MASK_RCNN_PARTS:
        parts = MASK_RCNN_PARTS[name]
        backbone = type(model.backbone).__name__
        assert backbone == ('AttentionFPNBackbone' if 'neck' in parts else 'FPN')
        head = type(model.roi_heads.mask_head).__name__
        assert head == ('SemanticFusionMaskHead' if 'mask_head' in parts else 'MaskRCNNConvUpsampleHead')
        # The 1:1 anchor of each level (ratios 0.5, 1, 2): 16..256 px on p2..p6 (paper §2.2.7), every config.
        cells = model.proposal_generator.anchor_generator.cell_anchors
        assert [float(c[1, 2] - c[1, 0]) for c in cells] == [16, 32, 64, 128, 256]


def test_yolact_cis_is_lighter_than_yolact_r50():
    cis = n_params(build_model(make_cfg(CONFIGS['yolact-cis'])))
    r50 = n_params(build_model(make_cfg(CONFIGS['yolact-r50'])))
    # Backbone saving 15.35 M; the DFFN bottom-up convs and the DDAMs add 2.36 M back.
    assert 0.55 < cis / r50 < 0.60


def test_bucasa_backbone_levels_and_attention():
    cfg = make_cfg(CONFIGS['r-mask-rcnn'])
    model = build_model(cfg)
    shapes = model.backbone.output_shape()
    assert {k: v.stride for k, v in shapes.items()} == {'p2': 4, 'p3': 8, 'p4': 16, 'p5': 32, 'p6': 64}
    neck = model.backbone.neck
    assert neck.downsample_convs is not None and len(neck.bottom_up_attentions) == 3
    # spec 004 §2.2.8 (B): the fusion mask head is the hemaseg block
    assert type(model.roi_heads.mask_head).__name__ == 'SemanticFusionMaskHead'
    # with the configs' GroupNorm (32 groups), as ROI_MASK_HEAD.NORM "GN" builds it
    assert n_params(model.roi_heads.mask_head) == n_params(
        SemanticFusionMaskHead(num_classes=1, norm_layer=lambda c: torch.nn.GroupNorm(32, c)))
    feats = model.backbone(torch.randn(1, 3, 128, 96))
    assert [tuple(f.shape[-2:]) for f in feats.values()] == [(32, 24), (16, 12), (8, 6), (4, 3), (2, 2)]


def test_dffn_backbone_outputs_and_prototype_source():
    model = build_model(make_cfg(CONFIGS['yolact-cis'])).eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 128, 128))
    assert list(feats) == ['n3', 'n4', 'n5', 'n6', 'n7', 'proto']
    assert [f.shape[-1] for f in feats.values()] == [16, 8, 4, 2, 1, 16]
    # proto is N3 before DDAM: different from n3 (after DDAM) but the same with attention off.
    assert not torch.allclose(feats['proto'], feats['n3'])
    plain = build_model(make_cfg(CONFIGS['yolact-r50'])).eval()
    with torch.no_grad():
        pf = plain.backbone(torch.randn(1, 3, 128, 128))
    assert list(pf) == ['p3', 'p4', 'p5', 'p6', 'p7', 'proto'] and torch.equal(pf['proto'], pf['p3'])


def test_yolact_inference_returns_masks_at_the_original_size():
    model = build_model(make_cfg(CONFIGS['yolact-cis'], 'MODEL.YOLACT.SCORE_THRESH_TEST', '0.0')).eval()
    with torch.no_grad():
        (out,) = model([{'image': torch.randint(0, 255, (3, 128, 128)).float(), 'height': 300, 'width': 240}])
    inst = out['instances']
    assert inst.image_size == (300, 240) and len(inst) > 0
    assert inst.pred_masks.shape[1:] == (300, 240) and inst.pred_masks.dtype == torch.bool
    assert inst.pred_boxes.tensor[:, 2].max() <= 240 and inst.pred_boxes.tensor[:, 3].max() <= 300


def test_missing_data_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match='does not exist.*coco_instances.py'):
        register_coco_folder(tmp_path / 'nope')
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations').mkdir()
    with pytest.raises(DatasetNotFoundError, match='no \\*.json'):
        register_coco_folder(tmp_path)


def test_unregistered_split_is_named(wbc_coco_small, tmp_path):
    args = ['--config-file', CONFIGS['yolact-cis'], 'DATASETS.COCO_ROOT', wbc_coco_small,
            'DATASETS.TRAIN', '("wbc_coco_fold9_train",)', 'OUTPUT_DIR', str(tmp_path), *SMALL]
    with pytest.raises(DatasetNotFoundError, match=r"wbc_coco_fold9_train.*wbc_coco_fold0_train"):
        train_net_cli(args)


def test_same_name_other_folder_is_refused(wbc_coco_small, tmp_path):
    register_coco_folder(wbc_coco_small, 'refuse_test')
    other = tmp_path / 'other'
    (other / 'images').mkdir(parents=True)
    (other / 'annotations').mkdir()
    (other / 'annotations' / 'small_train.json').write_text('{}')
    with pytest.raises(ValueError, match='already registered'):
        register_coco_folder(other, 'refuse_test')


def _segm_ap(results):
    return results['segm']['AP'], results['bbox']['AP']


@pytest.mark.parametrize('name', TRAINED)
def test_train_resume_and_evaluate_on_real_wbc(name, wbc_coco_small, tmp_path):
    out = tmp_path / name
    common = ['--config-file', CONFIGS[name], 'DATASETS.COCO_ROOT', wbc_coco_small, 'DATASETS.COCO_NAME', f'wbc_{name}',
              'DATASETS.TRAIN', f'("wbc_{name}_small_train",)', 'DATASETS.TEST', f'("wbc_{name}_small_val",)',
              'OUTPUT_DIR', str(out), 'SOLVER.CHECKPOINT_PERIOD', '2', *SMALL]
    train_net_cli([*common, 'SOLVER.MAX_ITER', '2'])
    assert (out / 'model_final.pth').is_file()
    # --resume continues at iteration 2 (not 0) up to the new MAX_ITER and evaluates at the end.
    results = train_net_cli(['--resume', *common, 'SOLVER.MAX_ITER', '4'])
    log = (out / 'log.txt').read_text()
    assert 'Starting training from iteration 2' in log
    rows = [json.loads(line) for line in (out / 'metrics.json').read_text().splitlines()]
    assert max(r['iteration'] for r in rows if 'total_loss' in r) == 3  # iterations 0..3
    segm_ap, bbox_ap = _segm_ap(results)
    # COCOEvaluator ran on the 6 validation images (a 4-iteration model scores low but not NaN).
    assert 0.0 <= segm_ap <= 100.0 and 0.0 <= bbox_ap <= 100.0
    preds = json.loads((out / 'inference' / f'wbc_{name}_small_val' / 'coco_instances_results.json').read_text())
    val = json.loads(open(osp.join(wbc_coco_small, 'annotations', 'small_val.json')).read())
    assert preds and {p['image_id'] for p in preds} <= {im['id'] for im in val['images']}
    assert all('segmentation' in p and p['category_id'] == 1 for p in preds)
    # --eval-only with the final weights gives the same numbers.
    again = train_net_cli(['--eval-only', *common, 'MODEL.WEIGHTS', str(out / 'model_final.pth')])
    assert _segm_ap(again) == pytest.approx((segm_ap, bbox_ap), abs=1e-6)

    # tools/det2_infer.py on two real images (one 120x120, one 300x300), results at the original size.
    images = [osp.join(wbc_coco_small, 'images', im['file_name']) for im in (val['images'][0], val['images'][-1])]
    infer_images(CONFIGS[name], str(out / 'model_final.pth'), images, str(out / 'infer'), score_thr=0.0,
                 opts=SMALL[:10])
    for img in images:
        stem = osp.splitext(osp.basename(img))[0]
        shape = cv2.imread(img).shape
        assert cv2.imread(str(out / 'infer' / 'overlays' / f'{stem}.png')).shape == shape
        ids = cv2.imread(str(out / 'infer' / 'instances' / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        assert ids.shape == shape[:2] and ids.dtype == np.uint16
    assert json.loads((out / 'infer' / 'predictions.json').read_text())


def flat(node, prefix=''):
    """``{'MODEL.ROI_HEADS.NAME': value}`` of a (nested) CfgNode."""
    out = {}
    for k, v in node.items():
        key = f'{prefix}.{k}' if prefix else k
        out.update(flat(v, key) if isinstance(v, dict) else {key: v})
    return out


def differing_parts(a, b) -> set:
    """The parts (neck, mask_head, or else the full key) in which two configs differ; OUTPUT_DIR aside."""
    fa, fb = flat(a), flat(b)
    keys = {k for k in fa.keys() | fb.keys() if fa.get(k, KeyError) != fb.get(k, KeyError)} - {'OUTPUT_DIR'}
    return {'neck' if k == 'MODEL.BACKBONE.NAME' or k.startswith('MODEL.ATTENTION_FPN.') else
            'mask_head' if k.startswith('MODEL.ROI_MASK_HEAD.') else k for k in keys}


def full_config_of(cpu_config: str) -> str:
    """The full-schedule config of a CPU one: the same model stem, 12k iterations at full size."""
    base = re.sub(r'_1xb4-800it_wbc-192\.yaml$', '', osp.basename(cpu_config))
    return next(p for p in CONFIGS.values() if re.fullmatch(re.escape(base) + r'_1xb\d+-12k_wbc-\d+\.yaml', osp.basename(p)))


@pytest.mark.parametrize('cpu', [False, True], ids=['full', 'cpu'])
@pytest.mark.parametrize('a, b', MASK_RCNN_PAIRS)
def test_mask_rcnn_configs_differ_only_in_neck_and_mask_head(a, b, cpu):
    """Baseline, R-Mask R-CNN and the two ablations (and their cpu/ schedules): data, schedule,
    anchors, RPN / box head and training settings are the same; each pair differs exactly in the
    parts one of them changes."""
    def config(name):
        if not cpu:
            return make_cfg(CONFIGS[name])
        cpu_name = next(c for c in CPU_CONFIGS if full_config_of(c) == CONFIGS[name])
        return make_cfg(cpu_name)
    assert differing_parts(config(a), config(b)) == MASK_RCNN_PARTS[a] ^ MASK_RCNN_PARTS[b]


@pytest.mark.parametrize('name', CPU_CONFIGS)
def test_cpu_schedules_inherit_the_full_configs(name):
    cfg = make_cfg(name)
    full = make_cfg(full_config_of(name))
    # The same network; only data size, schedule and (two-stage) proposal / RoI sampling differ.
    for key in ('META_ARCHITECTURE', 'BACKBONE', 'RESNETS', 'FPN', 'ATTENTION_FPN', 'GHOST_RESNET', 'DFFN', 'YOLACT',
                'ANCHOR_GENERATOR', 'ROI_BOX_HEAD', 'ROI_MASK_HEAD', 'PIXEL_MEAN', 'PIXEL_STD'):
        assert cfg.MODEL[key] == full.MODEL[key], key
    if cfg.MODEL.META_ARCHITECTURE == 'GeneralizedRCNN':
        assert cfg.MODEL.ROI_HEADS.NUM_CLASSES == full.MODEL.ROI_HEADS.NUM_CLASSES == 1
    # Validation first (it chooses hyper-parameters), the test split only reported.
    assert cfg.SOLVER.MAX_ITER == 800 and cfg.DATASETS.TEST == ('wbc_coco_fold0_val', 'wbc_coco_fold0_test')


def test_trainer_bf16_amp_guard_and_writers(wbc_coco_small, tmp_path):
    """det2_plugins.engine.Trainer: SOLVER.AMP.PRECISION bfloat16 gives an AMPTrainer in bf16 without a loss
    scale; the collapse guard is among the hooks (SOLVER.COLLAPSE_PATIENCE 0 removes it); without
    tensorboard installed the writers are the console and metrics.json ones."""
    import importlib.util

    from detectron2.engine import AMPTrainer

    from det2_plugins.engine import CollapseGuardHook, Trainer, build_cfg, register_datasets
    opts = ['DATASETS.COCO_ROOT', wbc_coco_small, 'DATASETS.TRAIN', '("wbc_coco_small_train",)',
            'DATASETS.TEST', '("wbc_coco_small_val",)', 'OUTPUT_DIR', str(tmp_path), *SMALL]
    cfg = build_cfg(osp.join(REPO_ROOT, CONFIGS['mask-rcnn']),
                    [*opts, 'SOLVER.AMP.ENABLED', 'True', 'SOLVER.AMP.PRECISION', 'bfloat16'])
    register_datasets(cfg)
    trainer = Trainer(cfg)
    inner = trainer._trainer
    assert isinstance(inner, AMPTrainer) and inner.precision == torch.bfloat16
    assert not inner.grad_scaler.is_enabled()
    assert any(isinstance(h, CollapseGuardHook) for h in trainer._hooks)
    writers = [type(w).__name__ for w in trainer.build_writers()]
    assert writers[:2] == ['CommonMetricPrinter', 'JSONWriter']
    assert ('TensorboardXWriter' in writers) == (importlib.util.find_spec('tensorboard') is not None)
    off = Trainer(build_cfg(osp.join(REPO_ROOT, CONFIGS['mask-rcnn']), [*opts, 'SOLVER.COLLAPSE_PATIENCE', '0']))
    assert not any(isinstance(h, CollapseGuardHook) for h in off._hooks)
    with pytest.raises(ValueError, match='SOLVER.AMP.PRECISION must be one of'):
        Trainer(build_cfg(osp.join(REPO_ROOT, CONFIGS['mask-rcnn']), [*opts, 'SOLVER.AMP.PRECISION', 'half']))
