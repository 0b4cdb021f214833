# MONAI's U-Net for whole smear fields: unet-monai_ufl_1xb8-600it_wbc-128x128.py with training windows like
# whole-field inference's (configs/_base_/datasets/wbc_nucleus_128x128_fields.py).
_base_ = [
    '../_base_/models/monai_unet.py', '../_base_/datasets/wbc_nucleus_128x128_fields.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
