# Runtime shared by every segmentation (mmseg) config of this project; runtime_common.py holds
# what the three frameworks share.
_base_ = ['./runtime_common.py']
custom_imports = dict(imports=['mmseg_plugins'], allow_failed_imports=False)
default_scope = 'mmseg'
visualizer = dict(type='SegLocalVisualizer', vis_backends=_base_.vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, save_best='nucleus/mDice'),
    visualization=dict(type='SegVisualizationHook'))
val_evaluator = dict(type='NucleusMetric')
test_evaluator = val_evaluator
