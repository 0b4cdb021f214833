# Image-level classification data of spec 002 stage 2 (explainable CAD), shared by the dataset
# bases cls_b_all_aria.py and cls_all_idb2.py. Layout (tools/dataset_converters/class_folders.py,
# all_idb2.py --task classification): <root>/images/<class>/<file>, splits/fold{k}_{train,val,test}.txt
# ('<class>/<file> <label>'), meta.json (classes in label order, read by BloodCellClsDataset).
# Fold: ann_file is a '{fold}' template filled by mmengine_plugins.config.load_config from `fold`
# (--cfg-options fold=K), as in the segmentation dataset bases.
#
# Pipelines (spec 002 §4.3). Every image: ResizeEdge(232, short side) + CenterCrop(224), as
# torchvision's Resize(232)/CenterCrop(224); ImageNet mean/std is the model's data_preprocessor.
# "Segmented" inputs (Table 1) start with MaskOutsideNucleus: pixels outside the precomputed
# nucleus mask (<root>/nucleus_masks/, tools/precompute_masks.py) are set to 0 before any
# resize. Configs select them with pipeline=_base_.segmented_train_pipeline / _test_pipeline.
#
# Training augmentation: the paper's Albumentations list, each with p = 0.5, approximated with
# MMPretrain / MMCV transforms, applied after the crop (a square, so 90-degree turns are exact):
#   VerticalFlip, HorizontalFlip  RandomFlip, one per direction, p 0.5 each: exact.
#   RandomRotate90                RandomApply(p 0.5) of a uniform choice of 0/90/180/270 degrees: exact.
#   Transpose                     RandomApply(p 0.5) of Transpose(order=[1, 0, 2]) on the image: exact.
#   RandomGamma                   NOT available; approximated by ColorJitter(brightness=0.2) with
#                                 p 0.5 (a factor in [0.8, 1.2] instead of Albumentations' default
#                                 gamma in [0.8, 1.2]: both keep black at 0, gamma bends mid-tones).
#   CLAHE                         NOT available; approximated by Equalize (global histogram
#                                 equalisation, p 0.5): no 8x8 tiles and no clip limit (4.0), so
#                                 it is stronger than CLAHE.
#   GaussNoise                    NOT reproduced (no additive pixel-noise transform in MMPretrain
#                                 or MMCV 2.1).
# The robustness perturbations of the hold-out test (MotionBlur, MultiplicativeNoise, GaussNoise,
# spec 002 §4.3) are not in these pipelines.
dataset_type = 'BloodCellClsDataset'
data_root = 'data/CLASSIFICATION_DATASET'  # set by the dataset bases
fold = 0
resize_edge = 232
crop_size = 224
cls_load = [dict(type='LoadImageFromFile')]
cls_mask = [dict(type='MaskOutsideNucleus', mask_root='nucleus_masks')]
cls_resize_crop = [dict(type='ResizeEdge', scale=resize_edge, edge='short', interpolation='bilinear'),
                   dict(type='CenterCrop', crop_size=crop_size)]
_rotate = [dict(type='Rotate', angle=float(a), prob=1.0, random_negative_prob=0.0, interpolation='nearest')
           for a in (90, 180, 270)]
cls_augment = [
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.5,
         transforms=[dict(type='RandomChoice', transforms=[[], [_rotate[0]], [_rotate[1]], [_rotate[2]]])]),
    dict(type='RandomApply', prob=0.5, transforms=[dict(type='ColorJitter', brightness=0.2)]),
    dict(type='Equalize', prob=0.5),
    dict(type='RandomApply', prob=0.5, transforms=[dict(type='Transpose', keys=['img'], order=[1, 0, 2])]),
]
cls_pack = [dict(type='PackInputs')]
train_pipeline = cls_load + cls_resize_crop + cls_augment + cls_pack
test_pipeline = cls_load + cls_resize_crop + cls_pack
segmented_train_pipeline = cls_load + cls_mask + cls_resize_crop + cls_augment + cls_pack
segmented_test_pipeline = cls_load + cls_mask + cls_resize_crop + cls_pack
_split = dict(type=dataset_type, data_root=data_root, data_prefix='images')
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,  # batch 8: spec 002 §4.3
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_split, ann_file='splits/fold{fold}_train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_split, ann_file='splits/fold{fold}_val.txt', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_split, ann_file='splits/fold{fold}_test.txt', pipeline=test_pipeline))
