# Ensemble nucleus segmentation of spec 002 (Eq. 12 + area opening, §2.3) on CellaVision: the
# handcrafted mask (Algorithm 1, Table A1) AND the explainable-CAD U-Net's mask, then an area
# opening of 150 px. Inference only: train the U-Net first, then give its checkpoint either as
# the CHECKPOINT argument (a U-Net checkpoint is accepted for the ensemble) or as deep_checkpoint:
#   python tools/train.py configs/explainable_cad/unet-monai_ufl_wbc-cellavision-256x256.py
#   python tools/test.py configs/explainable_cad/ensemble_unet-monai_wbc-cellavision.py UNET_CHECKPOINT.pth
#   python tools/test.py configs/explainable_cad/ensemble_unet-monai_wbc-cellavision.py none \
#       --cfg-options model.deep_checkpoint=UNET_CHECKPOINT.pth
# One run reports the ensemble (nucleus/Dice ...), the handcrafted mask (nucleus/handcrafted_Dice ...)
# and the U-Net alone (nucleus/deep_Dice ...), all at the original image size.
_base_ = ['./unet-monai_ufl_wbc-cellavision-256x256.py']
model = dict(
    _delete_=True,
    type='EnsembleNucleusSegmentor',
    deep_model={{_base_.model}},
    deep_checkpoint=None,
    handcrafted=dict(bilateral_diameter=9, bilateral_sigma=50.0, closing_kernel=3, min_area=150, dilation=2),
    min_area=150,  # area opening after the AND (ambiguity #5: Table A1's area filter)
    nucleus_index=1)
val_evaluator = dict(type='NucleusMetric', extra_predictions=('handcrafted', 'deep'))
test_evaluator = val_evaluator
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
