# R2U-Net (t=2) baseline of spec 000 Tables 1, 3 and 7 on the merged WBC data, same data and schedule as MSFF-SegNeXt.
_base_ = [
    '../_base_/models/r2unet.py', '../_base_/datasets/wbc_nucleus.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]
