# WBC (Zheng et al. 2018), both sub-datasets merged as in spec 000 §5.2, nucleus vs rest.
# Prepare with: python tools/dataset_converters/wbc_zheng2018.py PATH/TO/wbc_zheng2018 --out data/wbc_nucleus
# Every image is resized to img_scale for the network; metrics are computed on the
# prediction resized back to the original image (120x120 or 300x300).
# Fold: the ann_files below are templates; mmengine_plugins.config.load_config replaces '{fold}'
# with `fold` after --cfg-options are merged, so `--cfg-options fold=2` or `fold = 2` in a
# child config selects splits/fold2_*.txt (an f-string here would freeze fold 0).
dataset_type = 'BloodCellDataset'
data_root = 'data/wbc_nucleus'
fold = 0
img_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomRotate', prob=0.5, degree=180, pad_val=0, seg_pad_val=255),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
_split = dict(type=dataset_type, data_root=data_root, data_prefix=dict(img_path='images', seg_map_path='masks'))
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**_split, ann_file='splits/fold{fold}_train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_split, ann_file='splits/fold{fold}_val.txt', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_split, ann_file='splits/fold{fold}_test.txt', pipeline=test_pipeline))
inference = dict(source_crop_size=(120, 120), max_crop_size=(300, 300))  # tools/infer.py; dataset 1: 120 px crops
