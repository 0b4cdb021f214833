"""Facts of the instance-segmentation models shared by the mmdet and Detectron2 tests: the same
network must have the same parameter count in both frameworks (one class, 32 prototypes), and
the Mask R-CNN family must differ in the same parts in both."""
from itertools import combinations

TOTAL_PARAMS = {
    'yolact-cis': 17_646_957,    # Ghost-ResNet-50 S=4 8,153,504 + DFFN/DDAM + YOLACT head
    'yolact-r50': 30_598_355,    # ResNet-50 23,508,032 + FPN P3..P7 + YOLACT head
    # ResNet-50 + FPN + RPN + 2-fc box head + 4-conv mask head; GroupNorm in the FPN and the mask head
    # (32 groups: +256 per normalised conv, whose bias it replaces): 43,971,158 without it.
    'mask-rcnn': 43_974_230,
    'r-mask-rcnn': 45_943_385,   # + bottom-up path with CA-SA (B-U-CA-SA) + fusion mask head (45,939,545 without GN)
    # The ablations. The fusion mask head has exactly the 4-conv head's parameters (2,624,001 with GN, 2,622,977 without), so
    # each ablation has the count of the model with the same neck (the tests check the head types).
    'mask-rcnn-bu-ca-sa-fpn': 45_943_385,      # Mask R-CNN with R-Mask R-CNN's neck
    'mask-rcnn-fusion-mask-head': 43_974_230,  # Mask R-CNN with R-Mask R-CNN's mask head
}
# What each Mask R-CNN config changes in the baseline (spec 004: R-Mask R-CNN the neck and the mask
# head; the two ablations one each). Nothing else may differ between them, the RPN anchors included.
MASK_RCNN_PARTS = {
    'mask-rcnn': set(),
    'mask-rcnn-bu-ca-sa-fpn': {'neck'},
    'mask-rcnn-fusion-mask-head': {'mask_head'},
    'r-mask-rcnn': {'neck', 'mask_head'},
}
MASK_RCNN_PAIRS = list(combinations(MASK_RCNN_PARTS, 2))
