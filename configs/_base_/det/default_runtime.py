# Runtime shared by the instance-segmentation (mmdet) configs of this project;
# ../runtime_common.py holds what the three frameworks share.
# mmdet_plugins registers GhostResNet, DFFN, BUCASAFPN, YOLACTCIS and SemanticFusionMaskHead in
# mmdet's registry and sets up the torch.load allow-list for MMEngine checkpoints.
_base_ = ['../runtime_common.py']
custom_imports = dict(imports=['mmdet_plugins'], allow_failed_imports=False)
default_scope = 'mmdet'
visualizer = dict(type='DetLocalVisualizer', vis_backends=_base_.vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, save_best='coco/segm_mAP'),  # the best validation mask AP
    visualization=dict(type='DetVisualizationHook'))
