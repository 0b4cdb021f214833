# YOLACT-CIS training (spec 001 §4, Table 1): SGD, lr 1e-3, batch 16; momentum 0.9 and weight
# decay 5e-4 are YOLACT's (not stated in the paper). The paper trains 600 epochs of 474 images
# (~18k iterations at batch 16); 12k iterations are 600-700 epochs of a 280-320-image
# WBC training fold.
# Linear warm-up over 500 iterations from lr/10, then x0.1 at 70 % and 90 % of training.
max_iters = 12000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[8400, 10800], gamma=0.1)
]
# The lr is for a global batch of 16 (set in the model configs): with tools/dist_train.sh on
# N GPUs set train_dataloader.batch_size=16/N, or enable auto_scale_lr to scale the lr by
# (global batch / 16).
auto_scale_lr = dict(enable=False, base_batch_size=16)
