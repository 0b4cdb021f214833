# From-scratch schedule used for every result in docs/ (no pretrained weights can be
# downloaded here). AdamW as in the paper (Table 2) but lr 1e-3 instead of 6e-5, since
# 6e-5 (x10 on the head) is a fine-tuning rate for ImageNet-pretrained MSCAN; linear
# warm-up over the first 10 % of iterations then poly decay to 0, as in the authors'
# base code (spec 000 §4). Configs set `max_iters` and `val_interval` below.
max_iters = 4000
val_interval = 500
warmup_iters = max_iters // 10
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
