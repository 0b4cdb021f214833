"""Parameter counts of the instance-segmentation models, shared by the mmdet and Detectron2 tests:
the same network must have the same count in both frameworks (one class, 32 prototypes)."""
TOTAL_PARAMS = {
    'yolact-cis': 17_646_957,    # Ghost-ResNet-50 S=4 8,153,504 + DFFN/DDAM + YOLACT head
    'yolact-r50': 30_598_355,    # ResNet-50 23,508,032 + FPN P3..P7 + YOLACT head
    'mask-rcnn': 43_971_158,     # ResNet-50 + FPN + RPN + 2-fc box head + 4-conv mask head
    'r-mask-rcnn': 45_939_545,   # + bottom-up path with CA-SA (B-U-CA-SA)
}
