# ALL-IDB2 whole cell at 128x128 network input, for CPU runs (metrics still at 257x257).
# The pipelines are all_idb2_wholecell.py's with every size-bearing transform at img_scale.
_base_ = ['./all_idb2_wholecell.py']
img_scale = (128, 128)
_at_scale = dict(Resize=dict(scale=img_scale), RandomResize=dict(scale=img_scale), RandomCrop=dict(crop_size=img_scale))
train_pipeline = [dict(t, **_at_scale.get(t['type'], {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **_at_scale.get(t['type'], {})) for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
