# The explainable-CAD classifier schedule (spec 002 §4.3): Adam, lr 1e-5, weight decay 1e-4
# (torch.optim.Adam's L2 penalty, not AdamW's decoupled decay), cross-entropy (the model base),
# 30 epochs per fold, ReduceLROnPlateau, validation after every epoch. Batch 8 is in the
# dataset base (cls_class_folders.py).
# ReduceLROnPlateau: the paper states no parameter. PyTorch's defaults are used (factor 0.1,
# patience 10 epochs, relative threshold 1e-4, no cooldown) on the validation cross-entropy
# (cls/cross_entropy, mean -log p(true class), computed by ClassificationReport: MMEngine's
# validation computes no loss), the usual `scheduler.step(val_loss)`. With 30 epochs and
# patience 10 the rate drops at most twice.
# Schedule keys only (mmengine refuses a key that two bases define).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-5, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='cls/cross_entropy', rule='less', factor=0.1, patience=10,
         threshold=1e-4, threshold_rule='rel', cooldown=0, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
