# Mask R-CNN with a ResNet-50 + FPN (the baseline of spec 004 Table I), one foreground class,
# on mmdet's modules with the usual Mask R-CNN settings (RoIAlign 7x7 box / 14x14 mask,
# 2-fc box head, 4-conv mask head with 28x28 masks).
# No pretrained weights are downloaded: init_cfg=None trains from scratch. To start from a
# local ImageNet checkpoint set
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet50.pth')
# (a whole-detector checkpoint goes to ``load_from`` instead).
num_classes = 1
# GroupNorm (32 groups) in the FPN and the mask head: from-scratch Mask R-CNN trains stably with it (He,
# Girshick, Dollar, "Rethinking ImageNet Pre-training", ICCV 2019). Without it R-Mask R-CNN collapsed here:
# gradient bursts during warm-up saturated its softmax attentions (docs/results.md, "R-Mask R-CNN: why it
# collapsed"). Every Mask R-CNN config uses it, so the models still differ only in the neck and the mask head.
head_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_size_divisor=32, pad_mask=True),
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), style='pytorch',
        # From scratch every stage trains; with a pretrained checkpoint use frozen_stages=1, norm_eval=True.
        frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        init_cfg=None),
    # P2..P6 (P6 = max-pool of P5), strides 4..64.
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5, norm_cfg=head_norm_cfg),
    rpn_head=dict(
        type='RPNHead', in_channels=256, feat_channels=256,
        # One size per level: 16, 32, 64, 128, 256 px on P2..P6 (4 x stride), ratios 1:2, 1:1, 2:1.
        # These are R-Mask R-CNN's anchors (spec 004 §2.2.7; its four ratios {1:1, 1:2, 2:1, 2:2}
        # are three distinct ones). The paper does not state the baseline's, so the baseline uses
        # the same and differs from R-Mask R-CNN only in the neck and the mask head.
        anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0],
                              strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            # Shared2FCBBoxHead that also logs its foreground recall (mmdet_plugins/bbox_heads.py) for the
            # collapse guard; the same layers and parameters.
            type='Shared2FCBBoxHeadWithRecall', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
            num_classes=num_classes, reg_class_agnostic=False,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_roi_extractor=dict(
            type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256, featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256,
            num_classes=num_classes, norm_cfg=head_norm_cfg,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=28, pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100,
                  mask_thr_binary=0.5)))
