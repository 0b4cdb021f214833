# The converters' BloodCellDataset layout (images/, masks/ 0 background / 1 foreground,
# splits/fold{k}_{train,val,test}.txt) as three dataloaders, shared by every segmentation dataset
# base here, with the test pipeline they share (resize to img_scale for the network; metrics are
# computed on the prediction resized back to each image's size). The dataset bases that inherit it
# set data_root and the training pipeline.
# Fold: the ann_files below are templates; mmengine_plugins.config.load_config replaces '{fold}'
# with `fold` after --cfg-options are merged, so `--cfg-options fold=2` or `fold = 2` in a
# child config selects splits/fold2_*.txt (an f-string here would freeze fold 0).
dataset_type = 'BloodCellDataset'
fold = 0
img_scale = (256, 256)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
_split = dict(type=dataset_type, data_prefix=dict(img_path='images', seg_map_path='masks'))
_eval_loader = dict(batch_size=1, num_workers=2, persistent_workers=True,
                    sampler=dict(type='DefaultSampler', shuffle=False))
train_dataloader = dict(batch_size=8, num_workers=2, persistent_workers=True,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(**_split, ann_file='splits/fold{fold}_train.txt'))
val_dataloader = dict(**_eval_loader, dataset=dict(**_split, ann_file='splits/fold{fold}_val.txt', pipeline=test_pipeline))
test_dataloader = dict(**_eval_loader, dataset=dict(**_split, ann_file='splits/fold{fold}_test.txt', pipeline=test_pipeline))
