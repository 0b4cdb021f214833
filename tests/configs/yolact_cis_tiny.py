# YOLACT-CIS (the real model: Ghost-ResNet-50 S=4 + DFFN + DDAM) on 128x128 images for a few
# CPU iterations: exercises training, checkpointing and COCO evaluation of the real config.
# The test passes the data root (train/val/test datasets and evaluators) with --cfg-options.
_base_ = ['../../configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py', './tiny_runs.py']
# Levels of a 128 input: 16, 8, 4, 2, 1 cells at strides 8..128, anchors centred in each cell.
model = dict(
    bbox_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128],
                                         centers=[(4, 4), (8, 8), (16, 16), (32, 32), (64, 64)])),
    test_cfg=dict(score_thr=0.0))  # an untrained model must still produce detections to score
# tiny_runs.py's pipelines, stretched to 128x128 as YOLACT's 550x550 is and schedule
train_dataloader = dict(batch_size=2, **_base_.tiny_loader, dataset=dict(pipeline=[dict(t, keep_ratio=False) if t.type == 'Resize' else t for t in _base_.tiny_det_train_pipeline]))
val_dataloader = test_dataloader = dict(**_base_.tiny_loader, dataset=dict(pipeline=[dict(t, keep_ratio=False) if t.type == 'Resize' else t for t in _base_.tiny_det_test_pipeline]))
img_scale, max_iters = _base_.tiny_det_scale, _base_.tiny_det_max_iters
train_cfg, param_scheduler, default_hooks = _base_.tiny_det_train_cfg, _base_.tiny_det_param_scheduler, _base_.tiny_det_default_hooks
