# The NoSegmented ResNet Medium-Mish ALL classifier shrunk for tools/gpu_check.py's CPU test: ResNet-18
# body (every ReLU -> Mish), narrow Medium head, 2 classes (the synthetic set of
# hemaseg.data.synthetic_tasks), 32x32 inputs, batch 4. The data root comes from --cfg-options.
_base_ = ['../../configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_all-idb2-224x224.py']
model = dict(backbone=dict(depth=18), head=dict(num_classes=2, in_channels=512, mid_channels=[32, 16]))
_resize_crop = [dict(type='ResizeEdge', scale=36, edge='short', interpolation='bilinear'),
                dict(type='CenterCrop', crop_size=32)]
_loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = dict(**_loader, dataset=dict(
    pipeline=_base_.cls_load + _resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(**_loader, dataset=dict(pipeline=_base_.cls_load + _resize_crop + _base_.cls_pack))
test_dataloader = val_dataloader
