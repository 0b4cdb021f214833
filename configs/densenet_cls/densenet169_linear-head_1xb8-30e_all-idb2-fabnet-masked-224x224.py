# ALL-FABNET's classifier (spec 003 §2.6) on the segmented image: every pixel outside the ALL-FABNET
# whole-cell mask set to 0 (black) before any resize (MaskOutsideNucleus reading <root>/cell_masks/),
# then the model, data and schedule of densenet169_linear-head_1xb8-30e_all-idb2-224x224.py (DenseNet-169 + linear head,
# ALL vs normal on ALL-IDB2, cls_adam_30e reused because the paper states no schedule).
# Masks first, from a trained ALL-FABNET (one sigmoid channel, class 1 'cell'), next to the nucleus
# masks of spec 002 (nucleus_masks/):
#   python tools/precompute_masks.py data/all_idb2_cls --method deep --mask-dir-name cell_masks \
#       --config configs/all_fabnet/all-fabnet_densenet169_1xb8-4k_all-idb2-wholecell-256x256.py --checkpoint FABNET_CKPT
# Use the ALL-FABNET checkpoint of the same fold: all_idb2.py --target wholecell and --task
# classification put the same images in fold K's test split (same seed), so the masks of the test
# images then come from a segmenter that never saw them.
#   python tools/train.py configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py [--cfg-options fold=K]
_base_ = ['./densenet169_linear-head_1xb8-30e_all-idb2-224x224.py']
cls_cell_mask = [dict(type='MaskOutsideNucleus', mask_root='cell_masks')]
train_dataloader = dict(dataset=dict(
    pipeline=_base_.cls_load + cls_cell_mask + _base_.cls_resize_crop + _base_.cls_augment + _base_.cls_pack))
val_dataloader = dict(dataset=dict(pipeline=_base_.cls_load + cls_cell_mask + _base_.cls_resize_crop
                                   + _base_.cls_pack))
test_dataloader = dict(dataset=dict(pipeline=_base_.cls_load + cls_cell_mask + _base_.cls_resize_crop
                                    + _base_.cls_pack))
