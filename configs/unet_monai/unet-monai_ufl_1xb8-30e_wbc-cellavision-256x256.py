# Explainable-CAD U-Net (spec 002 §2.2) with the Unified Focal Loss on
# CellaVision (Zheng et al. 2018 dataset 2, 300x300): one model per dataset as in the paper.
# Table A2 row "Cellavision": lambda 0.4, delta 0.7, gamma 1.0, lr 1e-4,
# dropout 0.1, weight decay 1e-3. Adam + ReduceLROnPlateau, 30 epochs, batch 8 (not stated), 256x256.
#   python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 \
#       --subsets dataset2 --out data/wbc_cellavision_nucleus
#   python tools/train.py configs/unet_monai/unet-monai_ufl_1xb8-30e_wbc-cellavision-256x256.py
#   python tools/test.py configs/unet_monai/unet-monai_ufl_1xb8-30e_wbc-cellavision-256x256.py \
#       work_dirs/unet-monai_ufl_1xb8-30e_wbc-cellavision-256x256/best_nucleus_mDice_epoch_*.pth
# Other folds: --cfg-options fold=K (or tools/cross_validate.py). tools/train.py stops with the
# command above when the data folder is missing (data_preparation).
_base_ = [
    '../_base_/models/monai_unet.py', '../_base_/datasets/wbc_cellavision_nucleus.py',
    '../_base_/schedules/adam_plateau_30e.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(dropout=0.1),
    decode_head=dict(loss_decode=dict(lam=0.4, delta=0.7, gamma=1.0)))
optim_wrapper = dict(optimizer=dict(weight_decay=1e-3))
# Epoch-based run: checkpoint (best validation mDice and last) and log by epoch.
default_hooks = dict(checkpoint=dict(by_epoch=True), logger=dict(log_metric_by_epoch=True))
log_processor = dict(by_epoch=True)
