# ALL-FABNET (spec 003): MMPretrain's DenseNet-169 with U-Net skip taps -> PAM + FAB at the 8x8
# bottleneck (concat + 1x1) -> decoder of transposed convolutions and skips -> one sigmoid channel.
# Every width is ours (the paper gives none); the readings of the open choices are switches of
# FABNetHead (mmseg_plugins/models/fabnet.py): pam_residual 'input' (DANet) | 'key' (Eq. 3 as
# printed), fab.flip 'spatial' | 'transpose', fab.unflip, branch_fusion 'concat' | 'sum',
# aspp_dilations () | (1, 6, 12, 18) (the Conclusion's "four ... pyramids").
# From scratch by default (no weights can be downloaded here). With a local MMPretrain ImageNet
# checkpoint: --cfg-options model.pretrained=/path/to/densenet169_4xb256_in1k.pth
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(type='DenseNetSkipEncoder', densenet=dict(type='mmpretrain.DenseNet', arch='169')),
    decode_head=dict(
        type='FABNetHead', in_channels=[64, 256, 512, 1280, 1664], in_index=[0, 1, 2, 3, 4], channels=256,
        decoder_channels=(256, 128, 64, 32, 32), pam_residual='input', use_fab=True,
        fab=dict(flip='spatial', fusion='concat', unflip=False, tied_memory=True, expansion=4),
        branch_fusion='concat', aspp_dilations=(),
        # one sigmoid channel thresholded at 0.5 (mmseg's binary mode; spec §2.5)
        num_classes=2, out_channels=1, threshold=0.5, norm_cfg=norm_cfg, align_corners=False,
        # the paper states no loss: BCE + Dice, the loss of the model it follows (spec §3, [28])
        loss_decode=[dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                     dict(type='DiceLoss', use_sigmoid=True, loss_weight=1.0)]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
