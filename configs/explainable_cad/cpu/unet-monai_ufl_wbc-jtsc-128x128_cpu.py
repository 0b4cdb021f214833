# CPU variant of ../unet-monai_ufl_wbc-jtsc-256x256.py for a quick real run: same network, loss
# (Table A2 values), optimiser (Adam lr 1e-4, Table A2 weight decay) and augmentation, but 128x128
# inputs, batch 4 and 300 iterations with one validation at the end: 1.1-1.6 s per iteration with
# OMP_NUM_THREADS=1 on a busy 2-core machine, 6-8 minutes in all. ReduceLROnPlateau is dropped:
# with a single validation it could never act (the learning rate stays 1e-4).
#   python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 \
#       --subsets dataset1 --out data/wbc_jtsc_nucleus
#   python tools/train.py configs/explainable_cad/cpu/unet-monai_ufl_wbc-jtsc-128x128_cpu.py
#   python tools/test.py configs/explainable_cad/cpu/unet-monai_ufl_wbc-jtsc-128x128_cpu.py \
#       work_dirs/unet-monai_ufl_wbc-jtsc-128x128_cpu/iter_300.pth
# Metrics are still computed at each image's original size.
_base_ = ['../unet-monai_ufl_wbc-jtsc-256x256.py']
img_scale = (128, 128)
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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
max_iters = 300
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = []
default_hooks = dict(checkpoint=dict(by_epoch=False), logger=dict(log_metric_by_epoch=False))
log_processor = dict(by_epoch=False)
