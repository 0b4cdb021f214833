# Ensemble nucleus segmentation of spec 002 (Eq. 12 + area opening, §2.3) on ALL-IDB2: the
# handcrafted mask (Algorithm 1, Table A1) AND the explainable-CAD U-Net's mask, then an area
# opening of 150 px. Inference only: train the U-Net first, then give its checkpoint either as
# the CHECKPOINT argument (a U-Net checkpoint is accepted for the ensemble) or as deep_checkpoint:
#   python tools/train.py configs/unet_monai/unet-monai_ufl_1xb8-30e_all-idb2-256x256.py
#   python tools/test.py configs/nucleus_ensemble/nucleus-ensemble_unet-monai-ufl_all-idb2-256x256.py UNET_CHECKPOINT.pth
#   python tools/test.py configs/nucleus_ensemble/nucleus-ensemble_unet-monai-ufl_all-idb2-256x256.py none \
#       --cfg-options model.deep_checkpoint=UNET_CHECKPOINT.pth
# One run reports the ensemble, the handcrafted mask and the U-Net alone (_base_/models/nucleus_ensemble.py).
_base_ = ['../unet_monai/unet-monai_ufl_1xb8-30e_all-idb2-256x256.py', '../_base_/models/nucleus_ensemble.py']
model = dict(_base_.nucleus_ensemble, deep_model=_base_.model, _delete_=True)
val_evaluator = test_evaluator = _base_.nucleus_ensemble_evaluator
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = train_cfg = optim_wrapper = param_scheduler = None
