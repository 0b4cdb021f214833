# Ghost ratio sweep, spec 001 Table 2 (backbone ratio S with YOLACT's FPN, no DFFN, no DDAM):
# Table 2 row S = 2 (paper: 13.28 M backbone parameters, 85.04 AP).
# The S = 4 row is yolact_ghost-r50-s4_fpn_1xb16-12k_wbc-550x550.py, the ResNet row yolact_r50_fpn_1xb16-12k_wbc-550x550.py;
# batch 16 on one GPU, the 12k-iteration SGD schedule of the YOLACT base. Named by the OpenMMLab rule
# (configs/README.md).
#   python tools/train.py configs/yolact_cis/yolact_ghost-r50-s2_fpn_1xb16-12k_wbc-550x550.py
_base_ = ['./yolact_ghost-r50-s4_fpn_1xb16-12k_wbc-550x550.py']
model = dict(backbone=dict(ghost_ratio=2))
