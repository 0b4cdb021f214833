# Ablation between the Mask R-CNN baseline and R-Mask R-CNN: the B-U-CA-SA FPN of R-Mask R-CNN
# (spec 004 §2.2; the neck of r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py) with the standard 4-conv
# mask head. Everything else is the baseline's (tests/mmdet_plugins/test_mmdet_models.py checks both pairs).
_base_ = ['./mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py']
model = dict(
    neck=dict(
        _delete_=True, type='BUCASAFPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5,
        top_down_attention=None, bottom_up=True, bottom_up_attention='ca-sa', literal=False,
        norm_cfg={{_base_.head_norm_cfg}}))
