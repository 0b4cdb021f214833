# The ALL classifier of spec 002 §2.4 / Table 1: ResNet-50, global average pooling, an MLP head.
# This base is the ReLU-Linear model; the configs in configs/resnet_cls/ override
#   model.backbone.act_cfg                     Table 1 "Activation Function": ReLU | Mish (every
#                                              activation of the ResNet, ActivationResNet)
#   model.head                                 Table 1 "MLP Classifier": Linear = LinearClsHead
#                                              (2048->K) | Medium = StackedLinearClsHead with
#                                              mid_channels=[1024, 512] and the same act_cfg
#                                              (2048->1024->act->512->act->K; no norm, no dropout:
#                                              the paper states none, §2.4)
#   model.head.num_classes                     K of the dataset (B-ALL ARIA 4, ALL-IDB2 2)
# ImageNet initialisation (spec 002 §2.7 #6: not stated in the paper; the default here is from
# scratch because no weights ship with the project) is one option, a local checkpoint path:
#   --cfg-options model.backbone.pretrained=/path/to/resnet50.pth
# (torchvision resnet50 state dict or an MMPretrain ResNet-50 classifier checkpoint; a missing
# file stops the run naming the path; nothing is downloaded).
model = dict(
    type='ImageClassifier',
    # ImageNet mean/std (spec 002 §4.3 Normalize), images loaded as BGR and converted to RGB.
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ActivationResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch',
                  act_cfg=dict(type='ReLU', inplace=True), pretrained=None),
    neck=dict(type='GlobalAveragePooling'),
    # init_cfg=None: PyTorch's default nn.Linear init, as the paper's replaced torchvision `fc`
    # (MMPretrain's LinearClsHead default is Normal(std=0.01)); the Medium head gets the same.
    head=dict(type='LinearClsHead', num_classes=4, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), init_cfg=None))
