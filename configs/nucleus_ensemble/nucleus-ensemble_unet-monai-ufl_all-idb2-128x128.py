# The ensemble of ../nucleus-ensemble_unet-monai-ufl_all-idb2-256x256.py with the U-Net of the CPU run
# (unet-monai_ufl_1xb4-300it_all-idb2-128x128.py: 128x128 input), as in docs/results.md:
#   python tools/train.py configs/unet_monai/unet-monai_ufl_1xb4-300it_all-idb2-128x128.py --work-dir WORK
#   python tools/test.py configs/nucleus_ensemble/nucleus-ensemble_unet-monai-ufl_all-idb2-128x128.py WORK/iter_300.pth
# One run reports the ensemble, the handcrafted mask and the U-Net alone (_base_/models/nucleus_ensemble.py).
_base_ = ['../unet_monai/unet-monai_ufl_1xb4-300it_all-idb2-128x128.py', '../_base_/models/nucleus_ensemble.py']
model = dict(_base_.nucleus_ensemble, deep_model=_base_.model, _delete_=True)
val_evaluator = test_evaluator = _base_.nucleus_ensemble_evaluator
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = train_cfg = optim_wrapper = param_scheduler = None
