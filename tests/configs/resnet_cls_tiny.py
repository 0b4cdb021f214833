# The Segmented-Mish-Medium classifier shrunk for tests: ResNet-18 body (every ReLU -> Mish), the
# Medium head with narrow hidden layers, 32x32 inputs, one epoch of batch 3 (2 iterations on the
# 6 training images of tests/cls_synthetic.py). The data root comes from --cfg-options.
_base_ = ['../../configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py', './tiny_runs.py']
model = dict(backbone=dict(depth=18),
             head=dict(num_classes=3, in_channels=512, mid_channels=[32, 16]))
# the config's own pipelines at 32x32 (tiny_runs.py), batch 3, one epoch
train_dataloader = dict(batch_size=3, **_base_.tiny_loader, dataset=dict(
    pipeline=[_base_.tiny_cls_32x32.get(t.type, t) for t in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = test_dataloader = dict(batch_size=3, **_base_.tiny_loader, dataset=dict(
    pipeline=[_base_.tiny_cls_32x32.get(t.type, t) for t in _base_.val_dataloader.dataset.pipeline]))
train_cfg, default_hooks = _base_.tiny_cls_train_cfg, _base_.tiny_cls_default_hooks
