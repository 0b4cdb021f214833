# ALL-FABNET's classifier (spec 003 §2.6): DenseNet-169 + global average pooling + a linear head,
# ALL vs normal on ALL-IDB2 (260 single-cell crops, classes from meta.json: ('normal', 'ALL')).
# Input: the raw image. The paper does not say whether the classifier sees the raw or the segmented
# image; densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py is the other reading (outside the ALL-FABNET cell
# mask set to black).
# Not stated by the paper, chosen here:
#   schedule    configs/_base_/schedules/cls_adam_30e.py, the project's classifier schedule (spec 002
#               §4.3: Adam lr 1e-5, weight decay 1e-4, 30 epochs, batch 8, ReduceLROnPlateau); the
#               paper says only "Classification accuracy reached a high level in the 50th epoch".
#   input       ResizeEdge 232 + CenterCrop 224 and ImageNet mean/std (cls_class_folders.py).
#   augmentation the paper's "rotating, cropping, color transformation, and flipping" (no parameters)
#               read as the explainable-CAD list of cls_class_folders.py: flips, 90-degree turns,
#               transpose, brightness, equalisation; no random crop. Its contrast increase and edge
#               detection (spec 003 §2.7, methods not stated) are not reproduced.
#   init        from scratch by default; ImageNet (the paper's "transfer learning"):
#               --cfg-options model.backbone.pretrained=/path/to/densenet169.pth
# Data: python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --task classification \
#           --out data/all_idb2_cls
#   python tools/train.py configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-224x224.py [--cfg-options fold=K]
_base_ = ['../_base_/models/densenet169_classifier.py', '../_base_/datasets/cls_all_idb2.py',
          '../_base_/schedules/cls_adam_30e.py', '../_base_/cls/default_runtime.py']
model = dict(head=dict(num_classes=2))
