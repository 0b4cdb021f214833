# Table 1 model "Segmented ReLU Linear" (spec 002 §2.4) on ALL-IDB2 (2 classes, ALL vs normal), schedule of §4.3.
# Segmented input: make the nucleus masks first (tools/precompute_masks.py data/all_idb2_cls
# --method handcrafted, or --config SEG_CONFIG --checkpoint SEG_CKPT for the ensemble).
#   python tools/train.py configs/resnet_cls/resnet50_linear-relu-head_1xb8-30e_all-idb2-segmented-224x224.py
#       [--cfg-options fold=K model.backbone.pretrained=IMAGENET_CKPT]
_base_ = ['../_base_/models/resnet50_all-classifier.py', '../_base_/datasets/cls_all_idb2_segmented.py',
          '../_base_/schedules/cls_adam_30e.py', '../_base_/cls/default_runtime.py']
model = dict(backbone=dict(act_cfg=dict(type='ReLU', inplace=True)),
             head=dict(type='LinearClsHead', num_classes=2))
