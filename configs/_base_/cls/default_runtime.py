# Runtime shared by the image-classification (mmpretrain) configs of this project (spec 002 stage 2);
# ../runtime_common.py holds what the three frameworks share.
# mmpretrain_plugins registers ActivationResNet, Mish, BloodCellClsDataset, MaskOutsideNucleus and
# ClassificationReport and sets up the torch.load allow-list for MMEngine checkpoints.
_base_ = ['../runtime_common.py']
custom_imports = dict(imports=['mmpretrain_plugins'], allow_failed_imports=False)
default_scope = 'mmpretrain'
visualizer = dict(type='UniversalVisualizer', vis_backends=_base_.vis_backends)
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(by_epoch=True, save_best='cls/accuracy'),  # the best validation accuracy
    visualization=dict(type='VisualizationHook', enable=False))
# Accuracy, per-class/macro/support-weighted precision, recall, specificity, F1 and the confusion
# matrix (mmpretrain_plugins.ClassificationReport); tools/test.py adds out_dir for the CSV + PNG.
val_evaluator = dict(type='ClassificationReport')
test_evaluator = val_evaluator
