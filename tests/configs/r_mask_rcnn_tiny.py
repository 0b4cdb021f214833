# R-Mask R-CNN (the real model: ResNet-50 + B-U-CA-SA FPN + Mask R-CNN heads) on 128x128
# images for a few CPU iterations: exercises training, checkpointing and COCO evaluation.
# The test passes the data root (train/val/test datasets and evaluators) with --cfg-options.
_base_ = ['../../configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py', './tiny_runs.py']
# Few proposals and RoIs (the 4-conv mask head dominates CPU time); every detection is kept
# so that an untrained model still has results to score.
model = dict(
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100), rcnn=dict(sampler=dict(num=16))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100), rcnn=dict(score_thr=0.0, max_per_img=20)))
# tiny_runs.py's pipelines and schedule
train_dataloader = dict(batch_size=2, **_base_.tiny_loader, dataset=dict(pipeline=_base_.tiny_det_train_pipeline))
val_dataloader = test_dataloader = dict(**_base_.tiny_loader, dataset=dict(pipeline=_base_.tiny_det_test_pipeline))
img_scale, max_iters = _base_.tiny_det_scale, _base_.tiny_det_max_iters
train_cfg, param_scheduler, default_hooks = _base_.tiny_det_train_cfg, _base_.tiny_det_param_scheduler, _base_.tiny_det_default_hooks
