# configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py shrunk for tests: the same pipeline
# (MaskOutsideNucleus on <root>/cell_masks, resize/crop, augmentation) and model type, with a tiny
# DenseNet (growth 8, one layer per block, 16 stem channels: 17 output channels), 32x32 inputs and
# one epoch of batch 3 (2 iterations on the 6 training images of tests/cls_synthetic.py, 3 classes).
# The data root comes from --cfg-options.
_base_ = ['../../configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py']
model = dict(backbone=dict(arch=dict(_delete_=True, growth_rate=8, depths=(1, 1, 1, 1), init_channels=16)),
             head=dict(num_classes=3, in_channels=17))
_resize_crop = [dict(type='ResizeEdge', scale=36, edge='short', interpolation='bilinear'),
                dict(type='CenterCrop', crop_size=32)]
_loader = dict(batch_size=3, num_workers=0, persistent_workers=False)
train_dataloader = dict(**_loader, dataset=dict(
    pipeline=_base_.cls_load + _base_.cls_cell_mask + _resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(**_loader, dataset=dict(pipeline=_base_.cls_load + _base_.cls_cell_mask + _resize_crop
                                              + _base_.cls_pack))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
