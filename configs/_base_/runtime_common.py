# The runtime every config of this project shares, whatever the framework: environment, local
# visual backend, seed 0, and the hooks that do not depend on the task. The framework runtimes
# (default_runtime.py for mmseg, cls/default_runtime.py for mmpretrain, det/default_runtime.py for
# mmdet) inherit it and add the scope, the plugin import, the visualizer, the logging and the
# checkpoint metric.
env_cfg = dict(
    cudnn_benchmark=False,  # inputs are small and fixed-size; determinism is worth more here
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
default_hooks = dict(
    # MMEngine's RuntimeInfoHook without its per-iteration .item() of every loss (mmengine_plugins/hooks.py)
    runtime_info=dict(type='SyncFreeRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoint and the best one by the framework runtime's save_best metric.
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=True, rule='greater', max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
