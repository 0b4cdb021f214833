# configs/explainable_cad/resnet50_medium-mish_seg_all-idb2.py sized for a 2-core CPU: the real data and the
# full ResNet-50 + Medium head with Mish, at 96x96 (ResizeEdge 100 / CenterCrop 96, the paper's
# 232/224 ratio), 30 epochs of 20 iterations (batch 8), lr 1e-4 (the paper's 1e-5 is too slow
# for a short run from scratch), ReduceLROnPlateau patience 3.
# Measured with OMP_NUM_THREADS=1: 0.85 s of CPU time per training iteration (forward, backward,
# Adam step; ReLU 0.73 s); through tools/train.py on a machine busy with two other trainings,
# 4.5-5 s wall per iteration.
#   python tools/train.py configs/explainable_cad/cpu/resnet50_medium-mish_seg_all-idb2_cpu.py
_base_ = ['../resnet50_medium-mish_seg_all-idb2.py']
cpu_resize_crop = [dict(type='ResizeEdge', scale=100, edge='short', interpolation='bilinear'),
                   dict(type='CenterCrop', crop_size=96)]
train_dataloader = dict(num_workers=1, dataset=dict(
    pipeline=_base_.cls_load + _base_.cls_mask + cpu_resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(num_workers=1, dataset=dict(
    pipeline=_base_.cls_load + _base_.cls_mask + cpu_resize_crop + _base_.cls_pack))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='cls/cross_entropy', rule='less', factor=0.1, patience=3,
         threshold=1e-4, threshold_rule='rel', cooldown=0, by_epoch=True)
]
train_cfg = dict(max_epochs=30)
default_hooks = dict(logger=dict(interval=10))
