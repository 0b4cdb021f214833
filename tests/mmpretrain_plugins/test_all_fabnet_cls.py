"""ALL-FABNET's DenseNet-169 classifier (spec 003 §2.6) and the DCNN of DeepBCSDnet (spec 004 §2.3):
every config builds the model its name says (parameter counts from independently built DenseNets
and the head's layer size by hand), the fabnet-masked input reads <root>/cell_masks, ImageNet
checkpoints (MMPretrain or torchvision) load, tools/precompute_masks.py writes an ALL-FABNET
(binary, one sigmoid channel) model's cell masks next to the nucleus masks, and a tiny DenseNet
trains 2 iterations and is tested through tools/train.py and tools/test.py."""
import argparse
import csv
import functools
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('mmpretrain', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from cls_synthetic import CLASSES, make_class_folder_dataset  # noqa: E402
from conftest import REPO_ROOT, load_tool, run_tool, tool_env  # noqa: E402

FABNET_DIR = osp.join(REPO_ROOT, 'configs', 'densenet_cls')  # the DenseNet-169 classifiers of ALL-FABNET Table II
CLS_CONFIGS = sorted(glob.glob(osp.join(FABNET_DIR, 'densenet169_*.py')))
RAW = osp.join(FABNET_DIR, 'densenet169_linear-head_1xb8-30e_all-idb2-224x224.py')
MASKED = osp.join(FABNET_DIR, 'densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py')
ALL_VS_MM = osp.join(REPO_ROOT, 'configs', 'densenet_cls', 'densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py')
TINY_CLS = osp.join(REPO_ROOT, 'tests', 'configs', 'densenet_cls_tiny.py')
TINY_FABNET = osp.join(REPO_ROOT, 'tests', 'configs', 'all_fabnet_tiny.py')
TOOLS = osp.join(REPO_ROOT, 'tools')


def load(path, options=None):
    from mmengine_plugins.config import load_config, parse_cfg_options
    return load_config(argparse.Namespace(config=path, cfg_options=parse_cfg_options(options), launcher='none',
                                          local_rank=0, work_dir=None))


def build(model_cfg):
    from mmengine.registry import init_default_scope

    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(model_cfg)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@functools.lru_cache(maxsize=None)
def densenet_params(arch: str) -> tuple:
    """(MMPretrain DenseNet, torchvision densenet features) parameter counts, both built here."""
    import torchvision
    from mmpretrain.models import DenseNet
    tv = getattr(torchvision.models, f'densenet{arch}')(weights=None)
    return n_params(DenseNet(arch=arch)), n_params(tv) - n_params(tv.classifier)


def test_the_four_all_idb2_configs_exist():
    names = {osp.relpath(p, FABNET_DIR) for p in CLS_CONFIGS}
    assert names == {'densenet169_linear-head_1xb8-30e_all-idb2-224x224.py', 'densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py',
                     'densenet169_linear-head_1xb8-30e_all-idb2-96x96.py', 'densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-96x96.py'}


@pytest.mark.parametrize('path', CLS_CONFIGS + [ALL_VS_MM], ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_config_builds_the_densenet_its_name_says(path):
    name = osp.basename(path)
    cfg = load(path, ['fold=2'])
    arch, width = ('121', 1024) if 'densenet121' in name else ('169', 1664)
    model = build(cfg.model)
    mmpretrain_count, torchvision_count = densenet_params(arch)
    assert mmpretrain_count == torchvision_count  # the two implementations agree
    assert n_params(model.backbone) == mmpretrain_count
    assert n_params(model.head) == width * 2 + 2  # Linear(width, 2): ALL vs normal / ALL vs MM
    assert n_params(model) == mmpretrain_count + width * 2 + 2
    with torch.no_grad():
        model.eval()
        assert model(torch.zeros(1, 3, 64, 64), mode='tensor').shape == (1, 2)
    masked = 'fabnet-masked' in name or 'all-vs-mm' in name
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        steps = ds.pipeline
        assert steps[0]['type'] == 'LoadImageFromFile'
        assert (steps[1]['type'] == 'MaskOutsideNucleus') == masked
        assert sum(t['type'] == 'MaskOutsideNucleus' for t in steps) == int(masked)
        if masked:
            assert steps[1]['mask_root'] == 'cell_masks'  # next to nucleus_masks/, not instead of it
        assert ds.ann_file == f'splits/fold2_{split}.txt'
    if name.endswith('-96x96.py'):
        crop = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] == 'CenterCrop']
        assert crop[0]['crop_size'] == 96
    elif 'all-idb2' in name:  # the reused explainable-CAD schedule and preset
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.weight_decay, cfg.train_cfg.max_epochs) == ('Adam', 1e-5, 1e-4, 30)
        assert {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}['CenterCrop']['crop_size'] == 224
    if 'all-idb2' in name:
        assert cfg.train_dataloader.dataset.data_root == 'data/all_idb2_cls'
    else:
        assert cfg.train_dataloader.dataset.metainfo.classes == ('ALL', 'MM')
        opt = cfg.optim_wrapper.optimizer  # spec 004 §4 "Parameter Settings"
        assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.001, 0.7, 1e-4)
        assert cfg.train_dataloader.batch_size == 1
    assert cfg.model.backbone.pretrained is None and cfg.default_scope == 'mmpretrain'


def test_missing_imagenet_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'densenet169_in1k.pth')
    cfg = load(RAW, [f'model.backbone.pretrained={missing}'])
    with pytest.raises(FileNotFoundError, match='densenet169_in1k.pth.*nothing is downloaded'):
        build(cfg.model)


def test_imagenet_checkpoints_of_torchvision_and_mmpretrain_load(tmp_path):
    """torchvision keys are renamed: the loaded backbone's features equal torchvision's own forward
    (features + the final ReLU) on a random input; MMPretrain keys load under 'backbone.'."""
    import torchvision
    from mmpretrain.models import DenseNet
    tv = torchvision.models.densenet121(weights=None).eval()
    with torch.no_grad():
        for m in tv.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so a misplaced norm shows
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    tv_path = str(tmp_path / 'tv_densenet121.pth')
    torch.save(tv.state_dict(), tv_path)
    backbone = build(dict(type='PretrainedDenseNet', arch='121', pretrained=tv_path))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x)[-1], torch.relu(tv.features(x)))

    src = DenseNet(arch='121')
    with torch.no_grad():
        for p in src.parameters():
            p.normal_()
    state = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(1000, 1024)
    mm_path = str(tmp_path / 'mm_densenet121.pth')
    torch.save({'state_dict': state, 'meta': {}}, mm_path)
    cfg = load(ALL_VS_MM, [f'model.backbone.pretrained={mm_path}'])
    model = build(cfg.model)
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[k], v)
    # a DenseNet-169 checkpoint does not fit DenseNet-121: the differing shapes are listed
    big = str(tmp_path / 'mm_densenet169.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in DenseNet(arch='169').state_dict().items()}}, big)
    with pytest.raises(ValueError, match='shape'):
        build(dict(type='PretrainedDenseNet', arch='121', pretrained=big)).init_weights()


def _write(root, rel, img, cell=None, nucleus=None):
    os.makedirs(osp.dirname(osp.join(root, 'images', rel)), exist_ok=True)
    cv2.imwrite(osp.join(root, 'images', rel), img)
    for folder, mask in (('cell_masks', cell), ('nucleus_masks', nucleus)):
        if mask is not None:
            target = osp.join(root, folder, osp.splitext(rel)[0] + '.png')
            os.makedirs(osp.dirname(target), exist_ok=True)
            cv2.imwrite(target, mask.astype(np.uint8) * 255)


def test_fabnet_masked_pipeline_reads_cell_masks(tmp_path):
    """The masked config's test input equals the raw config's input of the image blacked out by hand
    outside the cell mask (not the nucleus mask, also present); a missing cell mask is named."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    import mmpretrain_plugins  # noqa: F401
    from mmengine_plugins.data_check import missing_derived_folders_message
    init_default_scope('mmpretrain')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (257, 257, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:257, :257]
    cell = (yy - 120) ** 2 + (xx - 140) ** 2 < 90 ** 2
    nucleus = (yy - 120) ** 2 + (xx - 140) ** 2 < 40 ** 2
    root = str(tmp_path / 'ds')
    _write(root, 'ALL/x.png', img, cell=cell, nucleus=nucleus)
    by_hand = img.copy()
    by_hand[~cell] = 0
    _write(root, 'ALL/x_by_hand.png', by_hand)
    masked = load(MASKED).test_dataloader.dataset.pipeline
    raw = load(RAW).test_dataloader.dataset.pipeline
    out = Compose(masked)({'img_path': osp.join(root, 'images', 'ALL', 'x.png')})['inputs']
    expected = Compose(raw)({'img_path': osp.join(root, 'images', 'ALL', 'x_by_hand.png')})['inputs']
    assert out.shape == (3, 224, 224) and torch.equal(out, expected)
    with pytest.raises(FileNotFoundError) as e:  # no cell mask for x_by_hand.png
        Compose(masked)({'img_path': osp.join(root, 'images', 'ALL', 'x_by_hand.png')})
    assert osp.join(root, 'cell_masks', 'ALL', 'x_by_hand.png') in str(e.value)
    assert '--mask-dir-name cell_masks' in str(e.value)
    # tools/train.py's data check names the folder and the command
    cfg = load(MASKED, [f'{s}_dataloader.dataset.data_root={tmp_path / "empty"}' for s in ('train', 'val')])
    msg = missing_derived_folders_message(cfg)
    assert osp.join(str(tmp_path / 'empty'), 'cell_masks') in msg and '--mask-dir-name cell_masks' in msg


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cls_cells'))
    truth = make_class_folder_dataset(root)
    return root, truth


def _fabnet_checkpoint(path, bias: float):
    """The tiny ALL-FABNET with its one-channel output fixed to logit ``bias`` everywhere."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmpretrain.models  # noqa: F401  (mmpretrain.DenseNet)
    import mmseg_plugins  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_FABNET).model)
    assert model.decode_head.conv_seg.out_channels == 1  # the binary (sigmoid) model
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.fill_(bias)
    meta = {'dataset_meta': {'classes': ('background', 'cell'), 'palette': [[0, 0, 0], [255, 0, 255]]}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def test_precompute_masks_writes_binary_all_fabnet_cell_masks(synthetic, tmp_path):
    """--method deep --mask-dir-name cell_masks with a one-sigmoid-channel ALL-FABNET: logit +5 everywhere
    is a full cell mask (class 1 'cell'), -5 an empty one; nucleus_masks/ is left as it was."""
    pytest.importorskip('mmseg')
    import shutil

    precompute_masks = load_tool('precompute_masks')
    root = str(tmp_path / 'ds')
    shutil.copytree(synthetic[0], root)
    sentinel = osp.join(root, 'nucleus_masks', 'untouched.txt')
    os.makedirs(osp.dirname(sentinel))
    open(sentinel, 'w').write('nucleus masks live here')
    for bias, full in ((5.0, True), (-5.0, False)):
        ckpt = _fabnet_checkpoint(str(tmp_path / f'fabnet_{bias}.pth'), bias)
        precompute_masks.main([root, '--method', 'deep', '--config', TINY_FABNET, '--checkpoint', ckpt,
                               '--mask-dir-name', 'cell_masks', '--overwrite'])
        meta = json.load(open(osp.join(root, 'cell_masks', 'meta.json')))
        assert meta['settings'] == {'method': 'deep', 'min_area': None, 'config': TINY_FABNET, 'checkpoint': ckpt}
        assert meta['complete'] and meta['written'] == len(synthetic[1])
        for rel, nucleus in synthetic[1].items():
            mask = cv2.imread(osp.join(root, 'cell_masks', osp.splitext(rel)[0] + '.png'), cv2.IMREAD_UNCHANGED)
            assert mask.shape == nucleus.shape and mask.dtype == np.uint8
            assert (mask == (255 if full else 0)).all(), (rel, bias)
    assert os.listdir(osp.join(root, 'nucleus_masks')) == ['untouched.txt']
    assert not osp.exists(osp.join(root, 'nucleus_masks', 'meta.json'))
    with pytest.raises(SystemExit, match="--label 'nucleus'"):  # a class the model does not have
        precompute_masks.main([root, '--method', 'deep', '--config', TINY_FABNET, '--checkpoint', ckpt,
                               '--mask-dir-name', 'cell_masks', '--label', 'nucleus', '--overwrite'])
    with pytest.raises(SystemExit):
        precompute_masks.main([root, '--mask-dir-name', '../elsewhere'])


@pytest.fixture(scope='module')
def trained(synthetic, tmp_path_factory):
    """Cell masks = the synthetic nuclei (written here), then 2 iterations of the tiny DenseNet."""
    root, truth = synthetic
    for rel, mask in truth.items():
        target = osp.join(root, 'cell_masks', osp.splitext(rel)[0] + '.png')
        os.makedirs(osp.dirname(target), exist_ok=True)
        cv2.imwrite(target, mask.astype(np.uint8) * 255)
    work = str(tmp_path_factory.mktemp('densenet_train'))
    env = tool_env()
    opts = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    proc = run_tool([osp.join(TOOLS, 'train.py'), TINY_CLS, '--work-dir', work, '--cfg-options', *opts], env=env)
    return root, work, opts, env, proc


def test_tiny_densenet_trains_two_iterations_and_tests(trained, tmp_path):
    root, work, opts, env, proc = trained
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'Epoch(train) [1][3/' not in log
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    out = str(tmp_path / 'test')
    proc = run_tool([osp.join(TOOLS, 'test.py'), TINY_CLS, osp.join(work, 'epoch_1.pth'), '--work-dir', out,
                     '--cfg-options', *opts], env=env)
    log = proc.stdout + proc.stderr
    assert 'confusion matrix (rows: true class' in log and 'cls/accuracy' in log
    with open(osp.join(out, 'classification_report', 'predictions.csv')) as f:
        rows = list(csv.DictReader(f))
    assert sorted(r['true'] for r in rows) == sorted(CLASSES)  # the one test image per class
    metrics = json.load(open(osp.join(out, 'test_metrics.json')))
    assert np.isclose(metrics['cls/accuracy'], sum(r['true'] == r['predicted'] for r in rows) / len(rows))
