# Nucleus-vs-rest data with the explainable-CAD U-Net's augmentation (spec 002 §4.2), shared by
# wbc_jtsc_nucleus.py, wbc_cellavision_nucleus.py and all_idb2_nucleus.py (which set data_root).
# Layout: the converters' BloodCellDataset folders (images/, masks/ 0 background / 1 nucleus,
# splits/fold{k}_{train,val,test}.txt). '{fold}' is filled in by mmengine_plugins.config.load_config
# after --cfg-options (see blood_cell_folds.py). The paper uses 10-fold CV (9 folds train, 1 test);
# the converters write the project's 5-chunk rotation (train 3/5, val 1/5, test 1/5).
#
# The paper's Albumentations pipeline and what stands for each transform here (Albumentations is
# not a dependency of the project):
#   Resize(256, 256) p=1             -> Resize(scale=(256, 256), keep_ratio=False), first (the paper's
#                                       order is not stated; every source image is square)
#   HorizontalFlip p=0.5             -> RandomFlip(prob=0.5, direction='horizontal')   (exact)
#   VerticalFlip p=0.5               -> RandomFlip(prob=0.5, direction='vertical')     (exact)
#   RandomRotate90 p=0.5 + Transpose p=0.5
#                                    -> RandomRotFlip(rotate_prob=0, flip_prob=1): rot90 by a random
#                                       k then a random flip. Together with the two flips this draws
#                                       each of the 8 rotations/reflections of the square with
#                                       probability 1/8, as the four Albumentations transforms do.
#   RandomGamma p=0.2 (gamma 0.8-1.2) -> BioMedicalRandomGamma(prob=0.2, gamma_range=(0.8, 1.2)):
#                                       gamma on the image min-max rescaled to [0, 1] (Albumentations
#                                       divides by 255), one gamma for all channels.
#   CLAHE p=0.2                      -> RandomApply(CLAHE(clip_limit=4.0, tile_grid_size=(8, 8)), 0.2):
#                                       mmseg equalises each RGB channel with a fixed clip limit;
#                                       Albumentations equalises LAB lightness with a limit drawn in [1, 4].
#   GaussNoise p=0.2 (var 10-50)     -> BioMedicalGaussianNoise(prob=0.2, std=50 ** 0.5): sigma drawn in
#                                       [0, 7.07] (Albumentations: sqrt of a variance drawn in [10, 50]);
#                                       not clipped to [0, 255].
# Images load as float32 so the additive noise cannot wrap around uint8. Not reproduced: the
# paper's exact parameter draws above, and its transform order if it differs.
_base_ = ['./blood_cell_folds.py']  # layout, folds and dataloaders
data_root = None  # set by the dataset configs that inherit this file
img_scale = (256, 256)  # also the test pipeline's (blood_cell_folds.py)
train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomRotFlip', rotate_prob=0.0, flip_prob=1.0),
    dict(type='BioMedicalRandomGamma', prob=0.2, gamma_range=(0.8, 1.2)),
    dict(type='RandomApply', prob=0.2, transforms=[dict(type='CLAHE', clip_limit=4.0, tile_grid_size=(8, 8))]),
    dict(type='BioMedicalGaussianNoise', prob=0.2, mean=0.0, std=50 ** 0.5),
    dict(type='PackSegInputs')
]
# Batch size: not stated in the paper; 8 (a 256x256 U-Net of this size fits a 16 GB T4 many times
# over). Epoch-based schedule, so the training sampler is the epoch sampler.
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True), dataset=dict(pipeline=train_pipeline))
