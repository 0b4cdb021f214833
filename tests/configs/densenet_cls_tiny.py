# configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py shrunk for tests: the same pipeline
# (MaskOutsideNucleus on <root>/cell_masks, resize/crop, augmentation) and model type, with a tiny
# DenseNet (growth 8, one layer per block, 16 stem channels: 17 output channels), 32x32 inputs and
# one epoch of batch 3 (2 iterations on the 6 training images of tests/cls_synthetic.py, 3 classes).
# The data root comes from --cfg-options.
_base_ = ['../../configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py', './tiny_runs.py']
model = dict(backbone=dict(arch=dict(_delete_=True, growth_rate=8, depths=(1, 1, 1, 1), init_channels=16)),
             head=dict(num_classes=3, in_channels=17))
# the config's own pipelines at 32x32 (tiny_runs.py), batch 3, one epoch
train_dataloader = dict(batch_size=3, **_base_.tiny_loader, dataset=dict(
    pipeline=[_base_.tiny_cls_32x32.get(t.type, t) for t in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = test_dataloader = dict(batch_size=3, **_base_.tiny_loader, dataset=dict(
    pipeline=[_base_.tiny_cls_32x32.get(t.type, t) for t in _base_.val_dataloader.dataset.pipeline]))
train_cfg, default_hooks = _base_.tiny_cls_train_cfg, _base_.tiny_cls_default_hooks
