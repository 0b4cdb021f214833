# The handcrafted nucleus segmentor (spec 002 Algorithm 1) on the synthetic crops; tests set data_root.
_base_ = ['../../configs/_base_/models/handcrafted_nucleus.py', '../../configs/_base_/datasets/synthetic_nucleus.py',
          '../../configs/_base_/default_runtime.py']
train_dataloader = None  # test only
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
