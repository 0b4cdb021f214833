# The ensemble of ../ensemble_unet-monai_all-idb2.py with the U-Net of the CPU run
# (unet-monai_ufl_all-idb2-128x128_cpu.py: 128x128 input), as in docs/results.md:
#   python tools/train.py configs/explainable_cad/cpu/unet-monai_ufl_all-idb2-128x128_cpu.py --work-dir WORK
#   python tools/test.py configs/explainable_cad/cpu/ensemble_unet-monai_all-idb2-128x128_cpu.py WORK/iter_300.pth
# One run reports the ensemble (nucleus/Dice ...), the handcrafted mask (nucleus/handcrafted_Dice ...)
# and the U-Net alone (nucleus/deep_Dice ...), all at the original image size.
_base_ = ['./unet-monai_ufl_all-idb2-128x128_cpu.py']
model = dict(
    _delete_=True,
    type='EnsembleNucleusSegmentor',
    deep_model={{_base_.model}},
    deep_checkpoint=None,
    handcrafted=dict(bilateral_diameter=9, bilateral_sigma=50.0, closing_kernel=3, min_area=150, dilation=2),
    min_area=150,
    nucleus_index=1)
val_evaluator = dict(type='NucleusMetric', extra_predictions=('handcrafted', 'deep'))
test_evaluator = val_evaluator
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
