# DenseNet image classifier: MMPretrain's DenseNet-169 -> global average pooling -> LinearClsHead
# (1664 -> K), cross-entropy. ALL-FABNET's classifier (spec 003 §2.6: architecture and head not
# stated; Table II's best row is "DenseNet169"), also the base of the DCNN of DeepBCSDnet's last
# stage (spec 004 §2.3, configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py: arch '121', 1024 -> K).
# Configs set model.head.num_classes (ALL-IDB2: 2).
# ImageNet initialisation (spec 003 §2.6/§4 "transfer learning", source weights not stated;
# default here: from scratch, no weights ship with the project) is one option, a local file:
#   --cfg-options model.backbone.pretrained=/path/to/densenet169.pth
# (an MMPretrain DenseNet-169 classifier checkpoint, e.g. densenet169_3rdparty_in1k, or torchvision's
# densenet169 state dict; mmpretrain_plugins.PretrainedDenseNet, a missing file stops the run naming
# the path; nothing is downloaded).
model = dict(
    type='ImageClassifier',
    # ImageNet mean/std, images loaded as BGR and converted to RGB (the ImageNet weights' preset).
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='PretrainedDenseNet', arch='169', pretrained=None),
    neck=dict(type='GlobalAveragePooling'),
    # init_cfg=None: PyTorch's default nn.Linear init, as for the ResNet classifiers of this project.
    head=dict(type='LinearClsHead', num_classes=2, in_channels=1664,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), init_cfg=None))
