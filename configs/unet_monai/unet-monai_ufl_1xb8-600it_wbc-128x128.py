# MONAI's U-Net (spec 002's segmenter: mmseg_plugins MonaiUNet + Unified Focal Loss with Yeung et
# al.'s parameters) on merged WBC, single-crop training, the CPU schedule of the WBC SegNeXt
# configs: the single-crop reference for unet-monai_ufl_1xb8-600it_wbc-fields-128x128.py.
_base_ = [
    '../_base_/models/monai_unet.py', '../_base_/datasets/wbc_nucleus_128x128.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
