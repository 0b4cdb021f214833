# Baseline YOLACT (ResNet-50 + FPN) on the WBC COCO data at 550x550: spec 001 Table 5 row 1 /
# Table 6 "YOLACT", trained with the same schedule as YOLACT-CIS.
_base_ = [
    '../_base_/det/models/yolact_r50_fpn.py', '../_base_/det/wbc_coco_instance-550x550.py',
    '../_base_/det/schedules/yolact_sgd_12k.py', '../_base_/det/default_runtime.py'
]
# The paper's batch of 16 on one GPU (~20 GB at 550x550); see the schedule for multi-GPU.
train_dataloader = dict(batch_size=16)
