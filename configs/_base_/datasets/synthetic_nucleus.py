# The embedded synthetic Jenner-Giemsa-like single-cell crops (no external data needed):
# python tools/dataset_converters/make_synthetic.py --out data/synthetic_nucleus
# Same layout, splits and augmentation as the WBC data; the crops are 128x128 already.
_base_ = ['./wbc_nucleus.py']
data_root = 'data/synthetic_nucleus'
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRotate', prob=0.5, degree=180, pad_val=0, seg_pad_val=255),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
