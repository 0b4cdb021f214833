# R-Mask R-CNN (spec 004): ResNet-50 -> FPN + bottom-up path with channel -> spatial attention
# after each bottom-up sum ("B-U-CA-SA", N2..N5, N6 = max-pool of N5) -> Mask R-CNN RPN and RoI
# heads on N2..N6 / N2..N5, RPN anchors of 16, 32, 64, 128, 256 px (paper, §2.2.7; set in the
# base model, which the Mask R-CNN baseline shares).
# Mask head: the paper's "semantic segmentation layer", an FPN inside the RoI (spec 004 §2.2.8
# reading (B); the paper gives no layer list): SemanticFusionMaskHead. Its "adaptive mask head"
# (§2.2.9, "adjusting the input image scale") has no architecture and is not reproduced.
# Attention: softmax CA/SA rescaled to mean 1 (literal=False, a declared deviation, spec 004
# A2/A3); literal=True is the paper's form. Variants: bottom_up_attention='ca'/'sa'/'sa-ca',
# top_down_attention='ca-sa' (FPN-AM).
# Only the neck and the mask head differ from the baseline (tests/mmdet_plugins/test_mmdet_models.py checks
# it); the ablations mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py and
# mask-rcnn_r50_fpn_fusion-mask-head_1xb4-12k_wbc-512.py each add one of the two to the baseline.
_base_ = ['./mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py']
model = dict(
    neck=dict(
        _delete_=True, type='BUCASAFPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5,
        top_down_attention=None, bottom_up=True, bottom_up_attention='ca-sa', literal=False,
        norm_cfg={{_base_.head_norm_cfg}}),
    roi_head=dict(
        mask_head=dict(
            _delete_=True, type='SemanticFusionMaskHead', num_levels=3, in_channels=256, conv_out_channels=256,
            num_classes={{_base_.num_classes}}, norm_cfg={{_base_.head_norm_cfg}},
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))))
