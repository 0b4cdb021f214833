# The explainable-CAD U-Net (spec 002 §2.2): MONAI's own monai.networks.nets.UNet as an mmseg
# backbone (mmseg_plugins MonaiUNet) + a parameter-free head that passes its logits through
# (PassThroughHead) and applies the Unified Focal Loss (spec 002 Eqs. 9-11, mmseg_plugins
# UnifiedFocalLoss: lambda on the focal term as Eq. 11 prints it).
# Output: 2 channels + softmax, prediction = argmax (ambiguity #2; see mmseg_plugins/models/monai_unet.py).
# Per dataset (Table A2), the configs in configs/unet_monai set model.backbone.dropout and
# the loss's lam / delta / gamma; the values below are Yeung et al.'s recommended loss
# parameters and no dropout, for a dataset without a Table A2 row.
# Input intensities: not stated in the paper; scaled to [0, 1] RGB (mean 0, std 255).
# MONAI's UNet concatenates its skips uncropped, so inputs are padded to a multiple of 8
# (strides 1, 2, 2, 2), at test time too (the padding is cropped off the prediction).
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size_divisor=8, test_cfg=dict(size_divisor=8))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MonaiUNet', spatial_dims=2, in_channels=3, out_channels=2, channels=(32, 64, 128, 256, 512),
        strides=(1, 2, 2, 2), norm='INSTANCE', act='MISH', dropout=0.0),
    decode_head=dict(
        type='PassThroughHead', num_classes=2, in_index=0, align_corners=False,
        loss_decode=dict(type='UnifiedFocalLoss', lam=0.5, delta=0.6, gamma=0.5, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
