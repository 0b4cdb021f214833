# configs/all_fabnet/densenet169_all-idb2-cls.py sized for a 2-core CPU, as the explainable-CAD CPU
# configs: the real data and the full DenseNet-169 + linear head at 96x96 (ResizeEdge 100 /
# CenterCrop 96, the 232/224 ratio), 30 epochs of 20 iterations (batch 8), lr 1e-4 (1e-5 is too slow
# for a short run from scratch), ReduceLROnPlateau patience 3.
# Measured with OMP_NUM_THREADS=1 (model only, no data loading): 0.65 s of CPU time per training
# iteration (forward, backward, Adam step, batch 8 at 96x96), so about 7 CPU-minutes for the 600 iterations.
#   python tools/train.py configs/all_fabnet/cpu/densenet169_all-idb2-cls_cpu.py
_base_ = ['../densenet169_all-idb2-cls.py']
cpu_resize_crop = [dict(type='ResizeEdge', scale=100, edge='short', interpolation='bilinear'),
                   dict(type='CenterCrop', crop_size=96)]
train_dataloader = dict(num_workers=1, dataset=dict(
    pipeline=_base_.cls_load + cpu_resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(num_workers=1, dataset=dict(
    pipeline=_base_.cls_load + cpu_resize_crop + _base_.cls_pack))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='cls/cross_entropy', rule='less', factor=0.1, patience=3,
         threshold=1e-4, threshold_rule='rel', cooldown=0, by_epoch=True)
]
train_cfg = dict(max_epochs=30)
default_hooks = dict(logger=dict(interval=10))
