# DeepLabV3 (ResNet-50) baseline of spec 000 Tables 1, 3 and 7 on the merged WBC data, same data and schedule as MSFF-SegNeXt.
_base_ = [
    '../_base_/models/deeplabv3_r50.py', '../_base_/datasets/wbc_nucleus.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]
