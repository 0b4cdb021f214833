# What the explainable-CAD CPU configs (configs/unet_monai/*_1xb4-300it_*) change in a paper config for a
# quick real run on a 2-core CPU: 128x128 input, batch 4, 300 iterations with one validation at the
# end (1.1-1.6 s per iteration with OMP_NUM_THREADS=1 on a busy 2-core machine, 6-8 minutes in all).
# ReduceLROnPlateau is dropped: with a single validation it could never act (the rate stays at the
# paper's). Only new keys (prefix cpu_), because mmengine refuses a key that two bases define;
# each CPU config applies them to its paper config's keys in a few lines.
cpu_resize = dict(type='Resize', scale=(128, 128), keep_ratio=False)
cpu_batch_size = 4
max_iters = 300  # a new key for the epoch-based paper configs
cpu_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
cpu_default_hooks = dict(checkpoint=dict(by_epoch=False), logger=dict(log_metric_by_epoch=False))
