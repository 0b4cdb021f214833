# WBC (Zheng et al. 2018), both sub-datasets merged as in spec 000 §5.2, nucleus vs rest.
# Prepare with: python tools/dataset_converters/wbc_zheng2018.py PATH/TO/wbc_zheng2018 --out data/wbc_nucleus
# Every image is resized to img_scale for the network; metrics are computed on the
# prediction resized back to the original image (120x120 or 300x300).
# Layout, folds and dataloaders: blood_cell_folds.py.
_base_ = ['./blood_cell_folds.py']
data_root = 'data/wbc_nucleus'
img_scale = (256, 256)  # also the test pipeline's (blood_cell_folds.py)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomRotate', prob=0.5, degree=180, pad_val=0, seg_pad_val=255),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
inference = dict(source_crop_size=(120, 120), max_crop_size=(300, 300))  # tools/infer.py; dataset 1: 120 px crops
