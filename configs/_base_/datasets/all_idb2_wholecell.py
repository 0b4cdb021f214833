# ALL-IDB2 whole-cell masks (spec 003 §1: what ALL-FABNET's single sigmoid most likely segments):
# 260 single-cell 257x257 crops, expert (Loddo & Putzu) masks, cell = nucleus + cytoplasm.
# Prepare with:
#   python tools/dataset_converters/all_idb2.py PATH/TO/all_idb2 --target wholecell --out data/all_idb2_wholecell
# Folds keep ALL/normal balanced and the two byte-identical images together (see the converter).
# Every image is resized to 256x256 (the paper's input, spec §2.1); metrics are computed on the
# prediction resized back to 257x257. `fold` fills the '{fold}' templates (mmengine_plugins.config.load_config).
_base_ = ['./blood_cell_folds.py']  # layout, folds and dataloaders
data_root = 'data/all_idb2_wholecell'
data_preparation = ('python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --target wholecell '
                    '--out data/all_idb2_wholecell')
metainfo = dict(classes=('background', 'cell'), palette=[[0, 0, 0], [255, 0, 255]])
img_scale = (256, 256)  # also the test pipeline's (blood_cell_folds.py)
# "rotating, cropping, color transformation, and flipping" (spec §4; parameters not stated)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(1.0, 1.25), keep_ratio=False),
    dict(type='RandomCrop', crop_size=img_scale),
    dict(type='RandomRotate', prob=0.5, degree=180, pad_val=0, seg_pad_val=255),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
inference = dict(source_crop_size=(257, 257), max_crop_size=(257, 257))  # tools/infer.py
