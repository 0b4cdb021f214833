# The explainable-CAD U-Net schedule (spec 002 §4.2): Adam, lr 1e-4 (Table A2, every dataset),
# ReduceLROnPlateau, 30 epochs (Fig. A1 caption), validation after every epoch.
# Weight decay is per dataset (Table A2): configs set optim_wrapper.optimizer.weight_decay
# (Adam's L2 penalty, torch.optim.Adam, not AdamW's decoupled decay).
# ReduceLROnPlateau: the paper states no parameter. PyTorch's defaults are used (factor 0.1,
# patience 10 epochs, relative threshold 1e-4, no cooldown); the monitored quantity must be a
# validation metric here (MMEngine's validation computes no loss): nucleus/mIoU, since Fig. A1
# tracks IoU. With 30 epochs and patience 10 the rate drops at most twice.
# Schedule keys only (mmengine refuses a key that two bases define): the epoch-wise checkpoint
# and logging keys of default_runtime.py and the batch size are set by the configs using it.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.0))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='nucleus/mIoU', rule='greater', factor=0.1, patience=10,
         threshold=1e-4, threshold_rule='rel', cooldown=0, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
