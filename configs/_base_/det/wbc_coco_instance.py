# WBC instance segmentation in COCO format, one category ('cell').
# Layout (written by hemaseg/data/coco_converters.py):
#   data/wbc_coco/images/*                       every image of the data set
#   data/wbc_coco/annotations/fold{k}_{train,val,test}.json
# Another fold: `--cfg-options fold=K` or `fold = K` in a child config. The ann_files below
# are templates; mmengine_plugins.config.load_config replaces '{fold}' with `fold` after
# --cfg-options are merged (an f-string here would freeze fold 0).
# This file's pipeline keeps the aspect ratio (two-stage detectors); the YOLACT configs use
# wbc_coco_instance-550x550.py.
dataset_type = 'CocoDataset'
data_root = 'data/wbc_coco/'
fold = 0
metainfo = dict(classes=('cell', ), palette=[(220, 20, 60)])
img_scale = (512, 512)  # longer side <= 512 (the WBC crops are 120x120 and 300x300)
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]


_dataset = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, data_prefix=dict(img='images/'),
                backend_args=backend_args)

train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(**_dataset, ann_file='annotations/fold{fold}_train.json',
                 filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, ann_file='annotations/fold{fold}_val.json', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, ann_file='annotations/fold{fold}_test.json', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/fold{fold}_val.json',
                     metric=['bbox', 'segm'], format_only=False, backend_args=backend_args)
test_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/fold{fold}_test.json',
                      metric=['bbox', 'segm'], format_only=False, backend_args=backend_args)
