# WBC COCO data for YOLACT / YOLACT-CIS: every image is resized to 550x550 without keeping
# the aspect ratio (spec 001 §2.4, §5), with YOLACT's SSD-style augmentation (spec 001 §4
# [EXT-YOLACT]: photometric distortion, zoom-out, IoU-constrained crop, flips).
_base_ = ['./wbc_coco_instance.py']
img_scale = (550, 550)
# ImageNet RGB statistics; the zoom-out canvas is filled with the mean colour.
img_mean = [123.68, 116.78, 103.94]
img_std = [58.40, 57.12, 57.38]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(4.0, 4.0)),
    dict(type='PhotoMetricDistortion'),
    dict(type='Expand', mean=img_mean, to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_sampler=None, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
