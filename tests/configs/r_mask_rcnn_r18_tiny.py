# R-Mask R-CNN (B-U-CA-SA FPN + fusion mask head) on a ResNet-18 at 128 px for the inference tests
# (tools/classify_instances.py, tools/precompute_masks.py with an mmdet model): tests/configs/r_mask_rcnn_tiny.py
# with the small backbone, so a random-weight model builds and runs in about a second on a CPU.
_base_ = ['./r_mask_rcnn_tiny.py']
model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
