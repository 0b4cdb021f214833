"""ALL-FABNET (spec 003) on mmseg: the DenseNet-169 skip taps, position attention (both readings of
Eq. 3) against a direct computation of Eqs. 2-3, the head with and without FAB, ImageNet
initialisation, every config building, and a short train -> test run through the tools."""
import glob
import json
import os.path as osp

import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
pytest.importorskip('mmpretrain', reason='MMPretrain not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT, run_tool  # noqa: E402

# The segmentation configs of the ALL-FABNET comparison (ALL-FABNET and its baselines, each in its
# model family's folder); the DenseNet-169 classifiers are tested in tests/mmpretrain_plugins/test_all_fabnet_cls.py.
CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*_all-idb2-wholecell-*.py')))
FABNET = osp.join(REPO_ROOT, 'configs/all_fabnet/all-fabnet_densenet169_1xb8-600it_all-idb2-wholecell-128x128.py')


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    import mmpretrain.models  # noqa: F401  (registers mmpretrain.DenseNet)
    from mmengine.registry import init_default_scope

    import mmseg_plugins  # noqa: F401
    init_default_scope('mmseg')
    torch.set_num_threads(1)


def build(cfg):
    from mmseg.registry import MODELS
    return MODELS.build(cfg)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_densenet169_taps_match_spec_table():
    from mmpretrain.models import DenseNet
    enc = build(dict(type='DenseNetSkipEncoder', densenet=dict(type='mmpretrain.DenseNet', arch='169'))).eval()
    # spec 003 §2.2 table (torchvision densenet169 at 256 px)
    expected = [(64, 128), (256, 64), (512, 32), (1280, 16), (1664, 8)]
    assert enc.out_channels == [c for c, _ in expected]
    with torch.no_grad():
        outs = enc(torch.randn(1, 3, 256, 256))
    assert [(o.shape[1], o.shape[-1]) for o in outs] == expected
    # the wrapper adds no parameters and keeps MMPretrain's names under `densenet.`
    plain = DenseNet(arch='169')
    assert n_params(enc) == n_params(plain)
    assert {f'densenet.{k}' for k in plain.state_dict()} == set(enc.state_dict())
    # the deepest tap is MMPretrain's own last output (dense block 4 + norm5)
    plain.load_state_dict({k[len('densenet.'):]: v for k, v in enc.state_dict().items()})
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(torch.ones(1, 3, 64, 64))[-1], enc(torch.ones(1, 3, 64, 64))[-1])


def eq2_eq3(pam, x, residual):
    """Eqs. 2-3 written directly: P_ij = softmax_i(F1_i . F2_j), E_j = theta sum_i P_ij F3_i + R_j."""
    f1 = pam.key_project(x).flatten(2)[0]     # (C', N): F1, indexed by i in the softmax
    f2 = pam.query_project(x).flatten(2)[0]   # F2, indexed by j
    f3 = pam.value_project(x).flatten(2)[0]   # (C, N)
    energy = f1.T @ f2                        # [i, j] = F1_i . F2_j
    p = torch.exp(energy) / torch.exp(energy).sum(dim=0, keepdim=True)
    e = pam.gamma.scale * (f3 @ p)            # column j: sum_i P_ij F3_i
    res = x.flatten(2)[0] if residual == 'input' else f1
    return (e + res).reshape(x.shape)


@pytest.mark.parametrize('residual', ['input', 'key'])
def test_position_attention_is_eq2_eq3(residual):
    from mmseg.models.decode_heads.da_head import PAM

    from mmseg_plugins.models.fabnet import PositionAttention
    torch.manual_seed(0)
    c = 16
    pam = PositionAttention(c, c if residual == 'key' else 4, residual=residual).double()
    with torch.no_grad():
        pam.gamma.scale.fill_(0.7)
    x = torch.randn(1, c, 5, 6, dtype=torch.double)
    torch.testing.assert_close(pam(x), eq2_eq3(pam, x, residual))
    if residual == 'input':  # the DANet reading is mmseg's PAM unchanged
        ref = PAM(c, 4).double()
        ref.load_state_dict(pam.state_dict())
        torch.testing.assert_close(ref(x), pam(x))
    with pytest.raises(ValueError):
        PositionAttention(c, 4, residual='key')


def head_cfg(**kw):
    cfg = dict(type='FABNetHead', in_channels=[8, 16, 32], in_index=[0, 1, 2], channels=16,
               decoder_channels=(16, 8, 8), num_classes=2, out_channels=1, threshold=0.5,
               norm_cfg=dict(type='BN'), loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    cfg.update(kw)
    return cfg


def test_head_with_and_without_fab():
    from hemaseg.blocks import FlippingAttentionBlock
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)]
    with_fab, without = build(head_cfg()), build(head_cfg(use_fab=False))
    assert with_fab(feats).shape == (2, 1, 32, 32)  # one sigmoid channel at input size (stem tap is H/2)
    assert without(feats).shape == (2, 1, 32, 32)
    assert without.fab is None and without.fuse is None
    fuse_1x1 = 2 * 16 * 16 + 2 * 16  # concat conv (no bias: BN follows) + its BN
    assert n_params(with_fab) - n_params(without) == n_params(FlippingAttentionBlock(16)) + fuse_1x1
    summed = build(head_cfg(branch_fusion='sum'))
    assert n_params(with_fab) - n_params(summed) == fuse_1x1
    aspp = build(head_cfg(aspp_dilations=(1, 2, 3, 4)))
    assert aspp(feats).shape == (2, 1, 32, 32) and n_params(aspp) > n_params(with_fab)
    with pytest.raises(ValueError, match='multiples of 32'):
        with_fab([torch.randn(1, 8, 15, 15), torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)])
    with pytest.raises(ValueError, match='decoder_channels'):
        build(head_cfg(decoder_channels=(16, 8)))


def test_pretrained_densenet_is_loaded_or_named_when_missing(tmp_path):
    from mmpretrain.models import DenseNet
    src = DenseNet(arch='121')
    with torch.no_grad():
        for p in src.parameters():
            p.normal_()
    ckpt = tmp_path / 'densenet121_in1k.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, ckpt)
    enc = build(dict(type='DenseNetSkipEncoder', densenet=dict(type='mmpretrain.DenseNet', arch='121'),
                     pretrained=str(ckpt)))
    enc.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(enc.state_dict()[f'densenet.{k}'], v)
    with pytest.raises(FileNotFoundError, match='nothing is downloaded'):
        build(dict(type='DenseNetSkipEncoder', densenet=dict(type='mmpretrain.DenseNet', arch='121'),
                   pretrained=str(tmp_path / 'missing.pth')))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_config_builds(path):
    from types import SimpleNamespace

    from mmengine_plugins.config import load_config
    cfg = load_config(SimpleNamespace(config=path, cfg_options={'fold': 2}, launcher='none', local_rank=0,
                                      work_dir=None))
    assert cfg.train_dataloader.dataset.ann_file == 'splits/fold2_train.txt'
    assert cfg.data_preparation.startswith('python tools/dataset_converters/all_idb2.py')
    model = build(cfg.model)
    if 'all-fabnet' in osp.basename(path):
        assert (model.decode_head.fab is None) == ('no-fab' in osp.basename(path))


def test_train_then_test_through_the_tools(tiny_dataset, tmp_path):
    data = [f'{d}.dataset.data_root={tiny_dataset}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    short = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
             'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
             'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
             'param_scheduler=[]', 'default_hooks.checkpoint.save_best=None']
    work = tmp_path / 'work'
    run_tool(['tools/train.py', FABNET, '--work-dir', work, '--cfg-options', *data, *short])
    run_tool(['tools/test.py', FABNET, work / 'iter_2.pth', '--work-dir', tmp_path / 'test', '--cfg-options', *data,
              'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'])
    metrics = json.load(open(tmp_path / 'test' / 'test_metrics.json'))
    assert 0.0 <= metrics['nucleus/mDice'] <= 1.0
