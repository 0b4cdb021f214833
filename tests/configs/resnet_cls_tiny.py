# The Segmented-Mish-Medium classifier shrunk for tests: ResNet-18 body (every ReLU -> Mish), the
# Medium head with narrow hidden layers, 32x32 inputs, one epoch of batch 3 (2 iterations on the
# 6 training images of tests/cls_synthetic.py). The data root comes from --cfg-options.
_base_ = ['../../configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py']
model = dict(backbone=dict(depth=18),
             head=dict(num_classes=3, in_channels=512, mid_channels=[32, 16]))
_resize_crop = [dict(type='ResizeEdge', scale=36, edge='short', interpolation='bilinear'),
                dict(type='CenterCrop', crop_size=32)]
_loader = dict(batch_size=3, num_workers=0, persistent_workers=False)
train_dataloader = dict(**_loader, dataset=dict(
    pipeline=_base_.cls_load + _base_.cls_mask + _resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(**_loader, dataset=dict(pipeline=_base_.cls_load + _base_.cls_mask + _resize_crop
                                              + _base_.cls_pack))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
