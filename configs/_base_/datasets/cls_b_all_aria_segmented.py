# cls_b_all_aria.py with the Segmented input of spec 002 Table 1: everything outside the nucleus mask
# (nucleus_masks/, made by tools/precompute_masks.py) is blacked out before the resize and crop.
_base_ = ['./cls_b_all_aria.py']
train_dataloader = dict(dataset=dict(pipeline=_base_.segmented_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.segmented_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.segmented_test_pipeline))
