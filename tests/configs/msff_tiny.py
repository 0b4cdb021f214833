# A narrow, shallow MSFF-SegNeXt on 64x64 synthetic crops: exercises the full training,
# checkpoint and evaluation path of the real configs in seconds on a CPU.
_base_ = ['../../configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_synthetic-128x128.py']
model = dict(
    backbone=dict(embed_dims=[16, 32, 32, 64], depths=[1, 1, 1, 1], mlp_ratios=[2, 2, 2, 2]),
    decode_head=dict(in_channels=[32, 32, 64], channels=64, ham_channels=64))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)
max_iters = 8
train_cfg = dict(max_iters=max_iters, val_interval=4)
param_scheduler = [dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3), logger=dict(interval=2))
