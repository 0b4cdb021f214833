# The ensemble of ../ensemble_unet-monai_all-idb2.py with the U-Net of the CPU run
# (unet-monai_ufl_all-idb2-128x128_cpu.py: 128x128 input), as in docs/results.md:
#   python tools/train.py configs/explainable_cad/cpu/unet-monai_ufl_all-idb2-128x128_cpu.py --work-dir WORK
#   python tools/test.py configs/explainable_cad/cpu/ensemble_unet-monai_all-idb2-128x128_cpu.py WORK/iter_300.pth
# One run reports the ensemble, the handcrafted mask and the U-Net alone (_base_/models/nucleus_ensemble.py).
_base_ = ['./unet-monai_ufl_all-idb2-128x128_cpu.py', '../../_base_/models/nucleus_ensemble.py']
model = dict(_base_.nucleus_ensemble, deep_model=_base_.model, _delete_=True)
val_evaluator = test_evaluator = _base_.nucleus_ensemble_evaluator
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = train_cfg = optim_wrapper = param_scheduler = None
