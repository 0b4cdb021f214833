# Baseline Mask R-CNN (ResNet-50 + FPN) on the WBC COCO data, images resized to a longer side
# of 512: spec 004 Table I "Mask R-CNN", trained with the same schedule and RPN anchors
# (16..256 px) as R-Mask R-CNN, so the two differ only in the neck and the mask head.
# The ablations that change one of the two: mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py (neck) and
# mask-rcnn_r50_fpn_fusion-mask-head_1xb4-12k_wbc-512.py (mask head).
_base_ = [
    '../_base_/det/models/mask-rcnn_r50_fpn.py', '../_base_/det/wbc_coco_instance.py',
    '../_base_/det/schedules/mask-rcnn_sgd_12k.py', '../_base_/det/default_runtime.py'
]
# Paper: batch 1; 4 images per step with the lr scaled linearly (see the schedule).
train_dataloader = dict(batch_size=4)
