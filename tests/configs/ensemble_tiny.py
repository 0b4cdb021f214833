# The spec 002 ensemble (handcrafted AND deep, then area opening) with a 3-level MONAI U-Net of
# 4/8/16 channels as the deep model; tests set data_root and model.deep_checkpoint.
_base_ = ['./handcrafted_tiny.py']
model = dict(
    _delete_=True,
    type='EnsembleNucleusSegmentor',
    deep_model=dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                               bgr_to_rgb=True, size_divisor=8, test_cfg=dict(size_divisor=8)),
        backbone=dict(type='MonaiUNet', channels=(4, 8, 16), strides=(1, 2), dropout=0.0),
        decode_head=dict(type='PassThroughHead', num_classes=2, loss_decode=dict(type='CrossEntropyLoss')),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    deep_checkpoint=None,
    handcrafted=dict(dilation=2),
    min_area=150)
val_evaluator = dict(type='NucleusMetric', extra_predictions=('handcrafted', 'deep'))
test_evaluator = val_evaluator
