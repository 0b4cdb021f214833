# Ablation between the Mask R-CNN baseline and R-Mask R-CNN: the standard FPN with R-Mask R-CNN's
# mask head, the intra-RoI FPN "semantic segmentation layer" (spec 004 §2.2.8 reading (B); the
# mask head of r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py). Everything else is the baseline's
# (tests/mmdet_plugins/test_mmdet_models.py checks both pairs).
_base_ = ['./mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py']
model = dict(
    roi_head=dict(
        mask_head=dict(
            _delete_=True, type='SemanticFusionMaskHead', num_levels=3, in_channels=256, conv_out_channels=256,
            num_classes={{_base_.num_classes}}, norm_cfg={{_base_.head_norm_cfg}},
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))))
