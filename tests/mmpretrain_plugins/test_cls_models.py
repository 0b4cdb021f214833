"""The ALL classifiers of spec 002 (§2.4, Table 1): every config builds the model its name says,
ActivationResNet swaps every activation and loads torchvision / MMPretrain weights, and the
Linear / Medium heads have the paper's layer sizes. Expected parameter counts come from
torchvision's ResNet-50 and from the layer sizes by hand, not from the code under test."""
import argparse
import functools
import glob
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn

pytest.importorskip('mmpretrain', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT  # noqa: E402

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'resnet_cls', 'resnet50_*.py')))
NAME = re.compile(r'resnet50_(linear|medium)-(relu|mish)-head_1xb8-\d+e_(b-all-aria|all-idb2)(-segmented)?-(224|96)x(?:224|96)\.py$')
NUM_CLASSES = {'b-all-aria': 4, 'all-idb2': 2}


def load(path, options=None):
    from mmengine_plugins.config import load_config
    return load_config(argparse.Namespace(config=path, cfg_options=options, launcher='none', local_rank=0,
                                          work_dir=None))


def build(model_cfg):
    from mmengine.registry import init_default_scope

    import mmpretrain_plugins  # noqa: F401
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(model_cfg)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@functools.lru_cache(maxsize=1)
def resnet50_body_params() -> int:
    """ResNet-50 without its fc layer, counted on torchvision's implementation."""
    import torchvision
    net = torchvision.models.resnet50(weights=None)
    return n_params(net) - n_params(net.fc)


def head_params(kind: str, k: int) -> int:
    if kind == 'linear':  # 2048 -> K
        return 2048 * k + k
    return (2048 * 1024 + 1024) + (1024 * 512 + 512) + (512 * k + k)  # 2048 -> 1024 -> 512 -> K


def test_every_paper_variant_has_a_config():
    names = {osp.basename(p) for p in CONFIGS}
    for head in ('linear', 'medium'):
        for act in ('relu', 'mish'):
            for seg in ('seg', 'noseg'):
                for ds in NUM_CLASSES:
                    token = '-segmented' if seg == 'seg' else ''
                    assert f'resnet50_{head}-{act}-head_1xb8-30e_{ds}{token}-224x224.py' in names
    assert len([n for n in names if n.endswith('-96x96.py')]) >= 4  # the CPU-sized runs


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_builds_the_model_its_name_says(path):
    head_kind, act, ds, segmented, _ = NAME.search(osp.basename(path)).groups()
    seg = 'seg' if segmented else 'noseg'
    cfg = load(path)
    k = NUM_CLASSES[ds]
    model = build(cfg.model)
    activation = nn.Mish if act == 'mish' else nn.ReLU
    other = nn.ReLU if act == 'mish' else nn.Mish
    assert not any(isinstance(m, other) for m in model.modules())
    # 17 in the body (stem + 16 bottlenecks), 2 more in the Medium head
    assert sum(isinstance(m, activation) for m in model.modules()) == 17 + (2 if head_kind == 'medium' else 0)
    assert n_params(model.backbone) == resnet50_body_params()
    assert n_params(model.head) == head_params(head_kind, k)
    with torch.no_grad():
        model.eval()
        assert model(torch.zeros(2, 3, 32, 32), mode='tensor').shape == (2, k)  # any size: global pooling
    # Segmented = the nucleus mask applied right after loading, in every split, before any resize
    for split in ('train', 'val', 'test'):
        types = [t['type'] for t in cfg[f'{split}_dataloader'].dataset.pipeline]
        assert (types[1] == 'MaskOutsideNucleus') == (seg == 'seg'), (split, types)
        assert types.count('MaskOutsideNucleus') == (1 if seg == 'seg' else 0)
        assert cfg[f'{split}_dataloader'].dataset.ann_file == f'splits/fold0_{split}.txt'  # {fold} resolved
    assert cfg.data_root == ('data/b_all_aria' if ds == 'b-all-aria' else 'data/all_idb2_cls')
    assert cfg.train_dataloader.dataset.data_root == cfg.data_root
    assert cfg.default_scope == 'mmpretrain' and 'mmpretrain_plugins' in cfg.custom_imports.imports


def test_full_configs_follow_the_paper_schedule_and_preset():
    cfg = load(osp.join(REPO_ROOT, 'configs', 'resnet_cls', 'resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py'))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 1e-5, 1e-4)  # spec 002 §4.3
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_cfg.max_epochs == 30
    assert cfg.param_scheduler[0].type == 'ReduceOnPlateauLR'
    steps = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    assert steps['ResizeEdge']['scale'] == 232 and steps['ResizeEdge']['edge'] == 'short'
    assert steps['CenterCrop']['crop_size'] == 224
    pre = cfg.model.data_preprocessor
    assert [round(m / 255, 3) for m in pre.mean] == [0.485, 0.456, 0.406]
    assert [round(s / 255, 3) for s in pre.std] == [0.229, 0.224, 0.225]
    assert cfg.model.backbone.pretrained is None  # from scratch unless a checkpoint is given


def test_fold_option_selects_the_split():
    cfg = load(osp.join(REPO_ROOT, 'configs', 'resnet_cls', 'resnet50_linear-relu-head_1xb8-30e_all-idb2-224x224.py'),
               {'fold': 3})
    assert cfg.val_dataloader.dataset.ann_file == 'splits/fold3_val.txt'


def test_mish_is_registered_and_is_eq_8():
    from mmcv.cnn import build_activation_layer

    import mmpretrain_plugins  # noqa: F401
    act = build_activation_layer(dict(type='Mish'))
    x = torch.linspace(-6, 6, 101)
    assert torch.allclose(act(x), x * torch.tanh(torch.log1p(torch.exp(x))), atol=1e-6)  # Eq. 8


def test_mish_swap_leaves_no_relu_and_keeps_the_parameters():
    from mmpretrain.models import ResNet
    plain = ResNet(depth=50)
    mish = build(dict(type='ActivationResNet', depth=50, act_cfg=dict(type='Mish')))
    assert not any(isinstance(m, nn.ReLU) for m in mish.modules())
    assert sum(isinstance(m, nn.ReLU) for m in plain.modules()) == 17
    assert n_params(mish) == n_params(plain) == resnet50_body_params()
    assert list(mish.state_dict()) == list(plain.state_dict())


def _torchvision_features(net, x):
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


def test_torchvision_weights_load_and_mish_is_used_in_forward(tmp_path):
    """A torchvision ResNet-18 with every ReLU replaced by Mish by hand is the reference."""
    import torchvision
    torch.manual_seed(0)
    ref = torchvision.models.resnet18(weights=None)
    for m in ref.modules():  # random BN statistics, so eval-mode BN is not the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    ckpt = tmp_path / 'resnet18_tv.pth'
    torch.save(ref.state_dict(), ckpt)
    for name, module in list(ref.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, child_name, nn.Mish())
    ref.eval()
    ours = build(dict(type='ActivationResNet', depth=18, act_cfg=dict(type='Mish'), pretrained=str(ckpt)))
    ours.init_weights()
    ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = _torchvision_features(ref, x)
        got = ours(x)[-1]
        assert torch.allclose(got, expected, atol=1e-5)
        relu_model = build(dict(type='ActivationResNet', depth=18, pretrained=str(ckpt)))
        relu_model.init_weights()
        relu_model.eval()
        assert not torch.allclose(relu_model(x)[-1], expected, atol=1e-3)  # the activation matters


def test_pretrained_from_config_option_uses_the_given_checkpoint(tmp_path):
    """ImageNet initialisation: --cfg-options model.backbone.pretrained=PATH (an MMPretrain checkpoint)."""
    torch.manual_seed(1)
    source = build(dict(type='ActivationResNet', depth=50))
    state = {f'backbone.{k}': v.clone() for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(1000, 2048)  # another head: ignored
    ckpt = tmp_path / 'r50_mmpretrain.pth'
    torch.save({'meta': {}, 'state_dict': state}, ckpt)
    path = osp.join(REPO_ROOT, 'configs', 'resnet_cls', 'resnet50_medium-mish-head_1xb8-30e_b-all-aria-224x224.py')
    cfg = load(path, {'model.backbone.pretrained': str(ckpt)})
    model = build(cfg.model)
    before = model.backbone.layer3[0].conv1.weight.clone()
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert not torch.equal(before, model.backbone.layer3[0].conv1.weight)


def test_pretrained_missing_or_wrong_checkpoint_is_a_clear_error(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        build(dict(type='ActivationResNet', depth=50, pretrained=str(missing)))
    wrong = tmp_path / 'r18.pth'
    torch.save(build(dict(type='ActivationResNet', depth=18)).state_dict(), wrong)
    model = build(dict(type='ActivationResNet', depth=50, pretrained=str(wrong)))
    with pytest.raises(ValueError, match='shape'):
        model.init_weights()
    unrelated = tmp_path / 'other.pth'
    torch.save({'foo.weight': torch.zeros(3)}, unrelated)
    model = build(dict(type='ActivationResNet', depth=50, pretrained=str(unrelated)))
    with pytest.raises(ValueError, match='no key matches'):
        model.init_weights()


@pytest.mark.parametrize('act', ['Mish', 'ReLU'])
def test_medium_head_is_2048_1024_512_k_with_the_activation_only(act):
    head = build(dict(type='StackedLinearClsHead', num_classes=3, in_channels=2048, mid_channels=[1024, 512],
                      act_cfg=dict(type=act), init_cfg=None))
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2048, 1024), (1024, 512), (512, 3)]
    kinds = {type(m).__name__ for m in head.modules()}
    assert kinds - {'StackedLinearClsHead', 'ModuleList', 'Linear', act} == {'LinearBlock', 'CrossEntropyLoss'}
    assert not any(isinstance(m, (nn.Dropout, nn.modules.batchnorm._NormBase, nn.LayerNorm)) for m in head.modules())
    assert sum(isinstance(m, getattr(nn, act)) for m in head.modules()) == 2  # after the two hidden layers
    out = head((torch.randn(5, 2048), ))
    assert out.shape == (5, 3)
    # the forward is Linear -> act -> Linear -> act -> Linear, recomputed by hand
    a = getattr(nn.functional, act.lower())
    x = torch.randn(4, 2048)
    h = a(linears[1](a(linears[0](x))))
    assert torch.allclose(head((x, )), linears[2](h), atol=1e-6)
