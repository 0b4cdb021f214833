# The from-scratch schedule shortened to 600 iterations for CPU runs: the demo and the WBC cross-validation of docs/results.md.
_base_ = ['./scratch_adamw_poly.py']
max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=200)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=60),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=60, end=max_iters)
]
