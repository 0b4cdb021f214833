# Runtime shared by the instance-segmentation (mmdet) configs of this project.
# mmdet_plugins registers GhostResNet, DFFN, BUCASAFPN, YOLACTCIS and SemanticFusionMaskHead in
# mmdet's registry and sets up the torch.load allow-list for MMEngine checkpoints.
custom_imports = dict(imports=['mmdet_plugins'], allow_failed_imports=False)
default_scope = 'mmdet'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
default_hooks = dict(
    # MMEngine's RuntimeInfoHook without its per-iteration .item() of every loss (mmengine_plugins/hooks.py)
    runtime_info=dict(type='SyncFreeRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoint and the one with the best validation mask AP.
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=-1, save_last=True,
                    save_best='coco/segm_mAP', rule='greater', max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
