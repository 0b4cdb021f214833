# YOLACT-CIS (the real model: Ghost-ResNet-50 S=4 + DFFN + DDAM) on 128x128 images for a few
# CPU iterations: exercises training, checkpointing and COCO evaluation of the real config.
# The test passes the data root (train/val/test datasets and evaluators) with --cfg-options.
_base_ = ['../../configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py']
img_scale = (128, 128)
# Levels of a 128 input: 16, 8, 4, 2, 1 cells at strides 8..128, anchors centred in each cell.
model = dict(
    bbox_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128],
                                         centers=[(4, 4), (8, 8), (16, 16), (32, 32), (64, 64)])),
    test_cfg=dict(score_thr=0.0))  # an untrained model must still produce detections to score
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
max_iters = 4
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
