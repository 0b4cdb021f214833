# The from-scratch schedule shortened to 1000 iterations for CPU cross-validation runs (docs/results.md).
_base_ = ['./scratch_adamw_poly.py']
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=250)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=max_iters)
]
