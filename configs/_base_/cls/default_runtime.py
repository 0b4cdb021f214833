# Runtime shared by the image-classification (mmpretrain) configs of this project (spec 002 stage 2).
# mmpretrain_plugins registers ActivationResNet, Mish, BloodCellClsDataset, MaskOutsideNucleus and
# ClassificationReport and sets up the torch.load allow-list for MMEngine checkpoints.
custom_imports = dict(imports=['mmpretrain_plugins'], allow_failed_imports=False)
default_scope = 'mmpretrain'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
default_hooks = dict(
    # MMEngine's RuntimeInfoHook without its per-iteration .item() of every loss (mmengine_plugins/hooks.py)
    runtime_info=dict(type='SyncFreeRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoint and the one with the best validation accuracy.
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=-1, save_last=True,
                    save_best='cls/accuracy', rule='greater', max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
# Accuracy, per-class/macro/support-weighted precision, recall, specificity, F1 and the confusion
# matrix (mmpretrain_plugins.ClassificationReport); tools/test.py adds out_dir for the CSV + PNG.
val_evaluator = dict(type='ClassificationReport')
test_evaluator = val_evaluator
