"""The explainable-CAD U-Net (spec 002 §2.2) in mmseg: MONAI's UNet behind the registry, the
Unified Focal Loss adapter, the paper's configs (Table A2) and one tiny train + test through the tools."""
import argparse
import glob
import re
import json
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
pytest.importorskip('monai', reason='MONAI not installed (requirements/openmmlab.txt)')
from conftest import REPO_ROOT, run_tool  # noqa: E402

import mmseg_plugins  # noqa: E402,F401  (registers MonaiUNet, PassThroughHead, UnifiedFocalLoss)
from hemaseg.losses import unified_focal_loss  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=True)
TOOLS = osp.join(REPO_ROOT, 'tools')
MODEL_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'monai_unet.py')
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'unet_monai')
# The explainable-CAD configs: one per dataset of Table A2, at the paper's 256x256 and CPU-sized 128x128
# (the folder's *_wbc-128x128 / *_wbc-fields-128x128 configs are the whole-field study's).
CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_DIR, 'unet-monai_ufl_*.py'))
                 if re.search(r'_(all-idb2|wbc-cellavision|wbc-jtsc)-(256x256|128x128)\.py$', p))
PAPER_ARGS = dict(spatial_dims=2, in_channels=3, out_channels=2, channels=(32, 64, 128, 256, 512),
                  strides=(1, 2, 2, 2), norm='INSTANCE', act='MISH')
# Table A2 (spec 002 §3.1), typed from the spec: lambda, delta, gamma, dropout, weight decay.
TABLE_A2 = {'wbc-cellavision': (0.4, 0.7, 1.0, 0.1, 1e-3), 'wbc-jtsc': (0.5, 0.8, 1.0, 0.05, 1e-4),
            'all-idb2': (0.4, 0.7, 1.0, 0.1, 1e-4)}


def build(cfg_model):
    model = MODELS.build(cfg_model)
    model.eval()
    return model


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_base_model_is_monai_unet_with_the_paper_arguments():
    from monai.networks.nets import UNet
    cfg = Config.fromfile(MODEL_BASE)
    model = build(cfg.model)
    direct = UNet(**PAPER_ARGS, dropout=cfg.model.backbone.dropout)
    assert n_params(model) == n_params(direct) == n_params(model.backbone)
    assert n_params(model.decode_head) == 0  # no conv on top of MONAI's own classifier
    assert [tuple(p.shape) for p in model.backbone.unet.parameters()] == [tuple(p.shape) for p in direct.parameters()]
    x = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        logits = model(x, mode='tensor')
    assert logits.shape == (1, 2, 64, 64)


def test_dropout_activation_and_norm_are_the_configured_ones():
    cfg = Config.fromfile(MODEL_BASE)
    cfg.model.backbone.dropout = 0.05
    net = build(cfg.model).backbone.unet
    kinds = {type(m).__name__ for m in net.modules()}
    assert {'Mish', 'InstanceNorm2d', 'Dropout'} <= kinds
    assert not kinds & {'PReLU', 'ReLU', 'BatchNorm2d'}
    drops = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    # MONAI puts norm, dropout and Mish after every convolution but the final (classifier) one.
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(drops) == len(convs) - 1 and set(drops) == {0.05}
    assert [c.stride[0] for c in convs[:5]] == [1, 2, 2, 2, 1]  # encoder: strides (1, 2, 2, 2), then the bottom
    assert convs[-1].out_channels == 2


def test_prediction_at_a_size_that_is_not_a_multiple_of_8():
    """MONAI's UNet needs multiples of 8; the data preprocessor pads at test time and the padding is cropped off."""
    from mmseg.structures import SegDataSample
    model = build(Config.fromfile(MODEL_BASE).model)
    sample = SegDataSample(metainfo=dict(img_shape=(60, 62), ori_shape=(60, 62)))
    data = dict(inputs=[torch.randint(0, 255, (3, 60, 62), dtype=torch.uint8)], data_samples=[sample])
    with torch.no_grad():
        out = model.test_step(data)[0]
    assert out.pred_sem_seg.data.shape == (1, 60, 62)
    assert out.seg_logits.data.shape == (2, 60, 62)


def test_pass_through_head_rejects_a_channel_mismatch():
    cfg = Config.fromfile(MODEL_BASE)
    cfg.model.backbone.out_channels = 3
    model = build(cfg.model)
    with pytest.raises(ValueError, match='backbone.out_channels'), torch.no_grad():
        model(torch.rand(1, 3, 32, 32), mode='tensor')


def test_loss_adapter_is_softmax_then_unified_focal_loss():
    loss = MODELS.build(dict(type='UnifiedFocalLoss', lam=0.4, delta=0.7, gamma=1.0, loss_weight=2.0))
    logits = torch.randn(2, 2, 5, 6, generator=torch.Generator().manual_seed(0))
    label = torch.randint(0, 2, (2, 5, 6), generator=torch.Generator().manual_seed(1))
    label[0, 0, :3] = 255
    expected = 2.0 * unified_focal_loss(torch.softmax(logits, 1), label, lam=0.4, delta=0.7, gamma=1.0)
    assert loss(logits, label, weight=None, ignore_index=255).item() == pytest.approx(expected.item(), rel=1e-6)
    # The decode head's ignore_index is the one used: with another value, the 255 pixels become invalid labels.
    with pytest.raises(ValueError, match='outside'):
        loss(logits, label, ignore_index=-1)
    assert loss.loss_name == 'loss_ufl'
    with pytest.raises(ValueError, match='sampler'):
        loss(logits, label, weight=torch.ones(2, 5, 6))


def load(config, *options):
    from mmengine_plugins.config import load_config, parse_cfg_options
    args = argparse.Namespace(config=config, cfg_options=parse_cfg_options(list(options)), launcher='none',
                              local_rank=0, work_dir=None)
    return load_config(args)


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_DIR))
def test_configs_load_with_their_fold_and_build(config):
    assert len(CONFIGS) == 6
    cfg = load(config, 'fold=2')
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.ann_file == f'splits/fold2_{split}.txt'
    dataset = next(k for k in TABLE_A2 if f'_{k}-' in osp.basename(config))
    lam, delta, gamma, dropout, weight_decay = TABLE_A2[dataset]
    loss = cfg.model.decode_head.loss_decode
    assert (loss.lam, loss.delta, loss.gamma) == (lam, delta, gamma)
    assert cfg.model.backbone.dropout == dropout
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == weight_decay
    assert cfg.data_preparation.endswith('--out ' + cfg.train_dataloader.dataset.data_root)
    assert set(cfg.inference) == {'source_crop_size', 'max_crop_size'}
    model = MODELS.build(cfg.model)
    assert n_params(model.decode_head) == 0 and n_params(model) > 0
    if config.endswith('-256x256.py'):  # the paper's schedule; -128x128: the CPU one
        assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 30
        assert cfg.param_scheduler[0].type == 'ReduceOnPlateauLR'
    else:
        assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.val_interval == cfg.train_cfg.max_iters


def test_train_pipeline_keeps_image_and_mask_aligned(tiny_dataset, tmp_path):
    """The spec 002 §4.2 augmentation with every probability forced to 1 runs and moves the mask with the image."""
    from mmengine.dataset import Compose
    cfg = load(osp.join(CONFIG_DIR, 'unet-monai_ufl_1xb8-30e_wbc-jtsc-256x256.py'))
    pipeline = []
    for t in cfg.train_pipeline:
        t = dict(t)
        if t['type'] in ('BioMedicalRandomGamma', 'BioMedicalGaussianNoise', 'RandomApply'):
            t['prob'] = 1.0
        pipeline.append(t)
    stem = open(osp.join(tiny_dataset, 'splits', 'fold0_train.txt')).read().split()[0]
    results = dict(img_path=osp.join(tiny_dataset, 'images', f'{stem}.png'),
                   seg_map_path=osp.join(tiny_dataset, 'masks', f'{stem}.png'), reduce_zero_label=False)
    import cv2
    mask = cv2.resize(cv2.imread(results['seg_map_path'], cv2.IMREAD_UNCHANGED), (256, 256),
                      interpolation=cv2.INTER_NEAREST)
    np.random.seed(0)
    out = Compose(pipeline[:-1])(dict(results, seg_fields=[]))  # up to PackSegInputs
    assert out['img'].shape == (256, 256, 3) and out['img'].dtype == np.float32
    gt = out['gt_seg_map']
    assert gt.shape == (256, 256) and set(np.unique(gt)) <= {0, 1}
    assert gt.sum() == mask.sum() > 0  # rotations / reflections keep the nucleus area
    # The geometric transforms alone move the image exactly like the mask: a 256x256 image (Resize is
    # then the identity) with its own grey levels as the "mask".
    geometric = [t for t in pipeline[:-1] if t['type'] not in
                 ('BioMedicalRandomGamma', 'BioMedicalGaussianNoise', 'RandomApply')]
    img = cv2.resize(cv2.imread(results['img_path']), (256, 256), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / 'img.png'), img)
    cv2.imwrite(str(tmp_path / 'grey.png'), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    for seed in range(4):
        np.random.seed(seed)
        out = Compose(geometric)(dict(results, img_path=str(tmp_path / 'img.png'),
                                      seg_map_path=str(tmp_path / 'grey.png'), seg_fields=[]))
        moved = cv2.cvtColor(out['img'].astype(np.uint8), cv2.COLOR_BGR2GRAY)
        assert (moved == out['gt_seg_map']).all()


def run(args, env):
    return run_tool(args, env=env)


def test_tiny_training_then_test_through_the_tools(tiny_dataset, tmp_path, run_env):
    """3 iterations of the CPU config in this process (mmengine Runner; a tools/ subprocess would spend
    most of its time importing), then tools/test.py on the checkpoint."""
    from mmengine.runner import Runner
    config = osp.join(CONFIG_DIR, 'unet-monai_ufl_1xb4-300it_wbc-jtsc-128x128.py')
    opts = [f'{d}_dataloader.{k}' for d in ('train', 'val', 'test')
            for k in (f'dataset.data_root={tiny_dataset}', 'num_workers=0', 'persistent_workers=False')]
    work = str(tmp_path / 'train')
    cfg = load(config, *opts, 'train_dataloader.batch_size=2', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
               'default_hooks.logger.interval=1', f'work_dir={work}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3
    losses = runner.message_hub.get_scalar('train/decode.loss_ufl').data[0]
    assert len(losses) == 3 and all(np.isfinite(losses)) and min(losses) > 0
    assert 0.0 <= runner.message_hub.get_scalar('val/nucleus/mDice').current() <= 1.0
    assert osp.isfile(osp.join(work, 'iter_3.pth'))
    out = tmp_path / 'test'
    run([osp.join(TOOLS, 'test.py'), config, osp.join(work, 'iter_3.pth'), '--work-dir', str(out),
         '--cfg-options', *opts], run_env)
    metrics = json.load(open(out / 'test_metrics.json'))
    assert 0.0 <= metrics['nucleus/mDice'] <= 1.0 and metrics['nucleus/mIoU'] <= metrics['nucleus/mDice']
