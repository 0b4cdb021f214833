# The explainable-CAD classifier schedule (spec 002 §4.3): Adam, lr 1e-5, weight decay 1e-4
# (torch.optim.Adam's L2 penalty, not AdamW's decoupled decay), cross-entropy (the model base),
# 30 epochs per fold, ReduceLROnPlateau, validation after every epoch. Batch 8 is in the
# dataset base (cls_class_folders.py).
# ReduceLROnPlateau: the paper states no parameter. PyTorch's defaults are used (factor 0.1,
# patience 10 epochs, relative threshold 1e-4, no cooldown) on the validation cross-entropy
# (cls/cross_entropy, mean -log p(true class), computed by ClassificationReport: MMEngine's
# validation computes no loss), the usual `scheduler.step(val_loss)`. With 30 epochs and
# patience 10 the rate drops at most twice.
# The U-Net schedule (adam_plateau_30e.py: Adam, ReduceLROnPlateau with PyTorch's defaults, 30
# epochs, validation every epoch) with the classifier's rate, weight decay and monitored quantity.
_base_ = ['./adam_plateau_30e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=1e-4))
param_scheduler = [dict(_base_.param_scheduler[0], monitor='cls/cross_entropy', rule='less')]
