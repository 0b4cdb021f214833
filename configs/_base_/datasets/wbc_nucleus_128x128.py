# WBC at 128x128 network input, for CPU runs: 3/4 of the images (dataset1) are ~120x120
# already. Metrics are still computed at each image's original size.
# The pipelines are wbc_nucleus.py's with the Resize at img_scale.
_base_ = ['./wbc_nucleus.py']
img_scale = (128, 128)
train_pipeline = [dict(t, scale=img_scale) if t['type'] == 'Resize' else t for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t['type'] == 'Resize' else t for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
