# DeepBCSDnet's last stage (spec 004 §2.3, Stage C): a "Dense Convolutional Neural Network" (DCNN)
# classifies the R-Mask R-CNN-segmented bone-marrow image as ALL or MM (image-level, binary; ALL is
# the positive class of Table II). NO MULTIPLE-MYELOMA IMAGES ARE AVAILABLE IN THIS PROJECT (../shared
# has no SN-AM / MiMM_SBILab data): this config is runnable only once such a dataset is converted;
# nothing here has been trained or evaluated.
# Not stated by the paper (spec 004 §2.3, §3, §4 and its "not stated" checklist), chosen here:
#   architecture   MMPretrain DenseNet-121 (the smallest standard DenseNet; the paper names no depth)
#                  + global average pooling + linear head 1024 -> 2, cross-entropy.
#   input          the "segmented image": the whole field with every pixel outside the union of the
#                  R-Mask R-CNN instance masks set to black (MaskOutsideNucleus reading <root>/cell_masks),
#                  exactly what tools/classify_instances.py --mode mask feeds the classifier at inference.
#                  The fields (2560x1920) are resized to a long side of 512 and padded with black to
#                  512x512 (black = the masked background, so the padding adds nothing; no cell is
#                  cropped away, unlike a centre crop).
#   optimiser      the paper's "Parameter Settings" (not said to be the segmenter's only): SGD, momentum
#                  ("velocity") 0.7, lr 0.001, weight decay 1e-4, batch size 1; the schedule is not stated:
#                  constant lr, 30 epochs (the project's classifier epoch count, cls_adam_30e.py).
#   augmentation   the explainable-CAD list (cls_class_folders.py: flips, 90-degree turns as in ref. [12],
#                  transpose, brightness, equalisation); RENS-GAN (Stage A) is not reproduced.
#   init           from scratch; ImageNet: --cfg-options model.backbone.pretrained=/path/to/densenet121.pth
# Data (class-folder layout, tools/dataset_converters/class_folders.py; --classes fixes the label order):
#   python tools/dataset_converters/class_folders.py /path/to/all_vs_mm --classes ALL MM --out data/all_vs_mm_cls
#   python tools/precompute_masks.py data/all_vs_mm_cls --method deep --mask-dir-name cell_masks --score-thr 0.5 \
#       --config configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py --checkpoint RMASK_CKPT
#   python tools/train.py configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py [--cfg-options fold=K]
# Whole pipeline on new images (detection -> segmented image -> this classifier):
#   python tools/classify_instances.py DET_CONFIG DET_CKPT configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py \
#       CLS_CKPT IMAGES... --mode mask --out DIR
_base_ = ['../_base_/models/densenet169_classifier.py', '../_base_/datasets/cls_class_folders.py',
          '../_base_/cls/default_runtime.py']
data_root = 'data/all_vs_mm_cls'
data_preparation = ('python tools/dataset_converters/class_folders.py /path/to/all_vs_mm --classes ALL MM '
                    '--out data/all_vs_mm_cls')
classes = ('ALL', 'MM')
model = dict(backbone=dict(arch='121'), head=dict(num_classes=2, in_channels=1024))
input_size = 512
cls_cell_mask = [dict(type='MaskOutsideNucleus', mask_root='cell_masks')]
field_resize_pad = [dict(type='ResizeEdge', scale=input_size, edge='long', interpolation='bilinear'),
                    dict(type='Pad', size=(input_size, input_size), pad_val=0)]
train_pipeline = _base_.cls_load + cls_cell_mask + field_resize_pad + _base_.cls_augment + _base_.cls_pack
test_pipeline = _base_.cls_load + cls_cell_mask + field_resize_pad + _base_.cls_pack
_data = dict(data_root=data_root, metainfo=dict(classes=classes))
train_dataloader = dict(batch_size=1, dataset=dict(**_data, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, dataset=dict(**_data, pipeline=test_pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(**_data, pipeline=test_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.001, momentum=0.7, weight_decay=1e-4))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
