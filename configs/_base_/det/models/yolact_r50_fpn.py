# YOLACT with a ResNet-50 + FPN (the baseline of spec 001 Tables 5/6), one foreground class.
# Head, anchors, matching, losses and Fast-NMS settings are YOLACT's (spec 001 §2.4, §3
# [EXT-YOLACT]) on mmdet's YOLACTHead / YOLACTProtonet.
# No pretrained weights are downloaded: init_cfg=None trains from scratch. To start from a
# local ImageNet checkpoint set
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet50.pth')
# (e.g. --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=...).
num_classes = 1
input_size = 550
# Level sizes of a 550x550 input (strides 8..128 rounded up): anchors are laid on these grids.
level_sizes = [69, 35, 18, 9, 5]
model = dict(
    type='YOLACT',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.68, 116.78, 103.94], std=[58.40, 57.12, 57.38],
        bgr_to_rgb=True, pad_mask=True),
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(1, 2, 3), style='pytorch',
        # From scratch every stage trains and BN statistics update; with a pretrained checkpoint
        # the usual choice is frozen_stages=1, norm_eval=True.
        frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        init_cfg=None),
    # YOLACT's own FPN: P3..P7 from lateral 1x1 + bilinear top-down + 3x3 with ReLU on C3..C5,
    # P6/P7 by stride-2 convs (+ReLU) on P5/P6. This is hemaseg's DFFN without its bottom-up path
    # and without DDAM, so YOLACT-CIS differs from this baseline only in what spec 001 changes
    # (Ghost backbone, bottom-up path, DDAM) and the Detectron2 baseline is the same network
    # (tests/det2_plugins/test_parity.py). mmdet's stock YOLACT uses its FPN instead (no ReLU after the
    # 3x3 output convs, extra convs on the raw P5): same parameter count, different features.
    neck=dict(
        type='DFFN', in_channels=[512, 1024, 2048], out_channels=256, num_outs=5,
        bottom_up=False, attention=False, upsample_mode='bilinear'),
    bbox_head=dict(
        type='YOLACTHead', num_classes=num_classes, in_channels=256, feat_channels=256,
        num_head_convs=1, num_protos=32, use_ohem=True,
        # 3 aspect ratios, one scale per level: 24, 48, 96, 192, 384 px at 550 (= 3 x base size).
        anchor_generator=dict(
            type='AnchorGenerator', octave_base_scale=3, scales_per_octave=1,
            base_sizes=[8, 16, 32, 64, 128], ratios=[0.5, 1.0, 2.0],
            strides=[input_size / s for s in level_sizes],
            centers=[(input_size * 0.5 / s, input_size * 0.5 / s) for s in level_sizes]),
        # SSD box encoding with variances (0.1, 0.2).
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, reduction='none', loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.5)),
    mask_head=dict(
        type='YOLACTProtonet', num_classes=num_classes, in_channels=256, num_protos=32,
        # 3 x conv3x3 -> bilinear x2 -> conv3x3 -> conv1x1 to 32 prototypes (138x138 at 550).
        proto_channels=(256, 256, 256, None, 256, 32), proto_kernel_sizes=(3, 3, 3, -2, 3, 1),
        include_last_relu=True, max_masks_to_train=100,
        loss_mask_weight=6.125,  # 0.4 / 256 * 140 * 140 (YOLACT's mask_alpha)
        with_seg_branch=True,
        loss_segm=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(
        # positive IoU >= 0.5, negative < 0.4, each GT also keeps its best anchor.
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0,
                      ignore_iof_thr=-1, gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1, pos_weight=-1, neg_pos_ratio=3,  # OHEM 3:1
        debug=False),
    test_cfg=dict(
        # Fast NMS: top 200 per class, IoU 0.5, score 0.05, at most 100 detections.
        nms_pre=1000, min_bbox_size=0, score_thr=0.05, iou_thr=0.5, top_k=200, max_per_img=100,
        mask_thr=0.5, mask_thr_binary=0.5))
