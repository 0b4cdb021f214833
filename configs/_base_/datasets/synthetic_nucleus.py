# The embedded synthetic Jenner-Giemsa-like single-cell crops (no external data needed):
# python tools/dataset_converters/make_synthetic.py --out data/synthetic_nucleus
# Same layout, splits and augmentation as the WBC data; the crops are 128x128 already,
# so the 128x128 resize is the identity.
_base_ = ['./wbc_nucleus_128x128.py']
data_root = 'data/synthetic_nucleus'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
inference = dict(source_crop_size=(128, 128), max_crop_size=(128, 128))  # tools/infer.py whole-field scale
