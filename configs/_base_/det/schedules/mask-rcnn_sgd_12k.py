# R-Mask R-CNN training (spec 004 §4): SGD with momentum ("velocity") 0.7, lr 0.001 at batch 1,
# weight decay 1e-4. Here a global batch of 4 (set in the model configs) with the lr scaled
# linearly (0.004). The paper states no schedule: linear warm-up over 500 iterations, then x0.1
# at 2/3 and 11/12 of training.
# The plain Mask R-CNN baseline uses the same schedule (spec 001/004: same hyper-parameters).
max_iters = 12000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.004, momentum=0.7, weight_decay=1e-4),
    # From-scratch two-stage training can spike early; clipping keeps it finite.
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[8000, 11000], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
