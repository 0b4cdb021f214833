# What the tiny test configs share: a few CPU iterations on small inputs, no loader workers. New keys
# only (prefix tiny_), so that it sits beside a real config as a second base (mmengine refuses a key
# that two bases define); each tiny config applies them in a few lines.
tiny_loader = dict(num_workers=0, persistent_workers=False)
# classifiers: 32x32 crops instead of the papers' 224x224
tiny_cls_32x32 = dict(ResizeEdge=dict(type='ResizeEdge', scale=36, edge='short', interpolation='bilinear'),
                      CenterCrop=dict(type='CenterCrop', crop_size=32))
tiny_cls_train_cfg = dict(max_epochs=1)
tiny_cls_default_hooks = dict(logger=dict(interval=1))
# instance segmentation: 128x128 inputs without augmentation, 4 iterations, one validation at the end
tiny_det_scale = (128, 128)
tiny_det_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=tiny_det_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
tiny_det_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=tiny_det_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
tiny_det_max_iters = 4
tiny_det_train_cfg = dict(max_iters=tiny_det_max_iters, val_interval=tiny_det_max_iters)
tiny_det_param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=tiny_det_max_iters)]
tiny_det_default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
