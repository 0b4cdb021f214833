# The paper's Table 2 schedule for MSFF-SegNeXt (spec 000 §4): AdamW lr 6e-5, weight decay
# 0.01, 100 epochs, linear warm-up (ratio 1e-6) then poly decay; the head lr x10 and no decay
# on norms follow the authors' base code. Intended for fine-tuning from an ImageNet-pretrained
# MSCAN-T (set model.backbone.init_cfg to a local checkpoint).
# Warm-up is 10 % of training, as in the base code (not stated in the paper).
# Schedule keys only, so this file can be a base next to a dataset base and
# ../default_runtime.py (mmengine refuses a key that two bases define). What the paper's
# schedule needs from those, a config using it sets itself (see configs/msff_segnext/msff-segnext_mscan-t_1xb2-100e_sn-am-512x512.py):
#   train_dataloader = dict(batch_size=2, sampler=dict(type='DefaultSampler', shuffle=True), ...)
#   default_hooks = dict(checkpoint=dict(by_epoch=True), logger=dict(log_metric_by_epoch=True))
#   log_processor = dict(by_epoch=True)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.), 'head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=True, begin=10, end=100, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
