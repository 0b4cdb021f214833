# Table 1 model "Segmented Mish Medium" (spec 002 §2.4) on B-ALL ARIA (4 classes), schedule of §4.3.
# Segmented input: make the nucleus masks first (tools/precompute_masks.py data/b_all_aria
# --method handcrafted, or --config SEG_CONFIG --checkpoint SEG_CKPT for the ensemble).
#   python tools/train.py configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py
#       [--cfg-options fold=K model.backbone.pretrained=IMAGENET_CKPT]
_base_ = ['../_base_/models/resnet50_all-classifier.py', '../_base_/datasets/cls_b_all_aria_segmented.py',
          '../_base_/schedules/cls_adam_30e.py', '../_base_/cls/default_runtime.py']
model = dict(backbone=dict(act_cfg=dict(type='Mish')),
             head=dict(type='StackedLinearClsHead', num_classes=4, mid_channels=[1024, 512],
                       act_cfg=dict(type='Mish')))
