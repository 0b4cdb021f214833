# A narrow ResNet-18 (CIFAR stem, 8 base channels) classifier on 48x48 inputs for the
# explanation tools' tests (tools/explain.py, tools/cam_energy.py, tools/cluster_analysis.py).
# Its test pipeline resizes the short edge to 56 and centre-crops 48, like the paper's
# Resize(232)/CenterCrop(224), so masks must follow a real crop. Point it at a dataset in the
# classification layout (<root>/images/<class>/<file>, <root>/splits/fold0_*.txt) with
# --cfg-options test_dataloader.dataset.data_root=ROOT (and val_/train_ likewise).
default_scope = 'mmpretrain'
classes = ('ALL-L1', 'ALL-L2', 'ALL-L3')
data_root = 'data/cls_tiny'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8, num_stages=4,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
data_preprocessor = dict(num_classes=3, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=48),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=56, edge='short'),
    dict(type='CenterCrop', crop_size=48),
    dict(type='PackInputs'),
]


def _split(name, pipeline):
    return dict(type='CustomDataset', data_root=data_root, ann_file=f'splits/fold0_{name}.txt', data_prefix='images',
                metainfo=dict(classes=classes), pipeline=pipeline)


train_dataloader = dict(batch_size=4, num_workers=0, dataset=_split('train', train_pipeline),
                        sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=4, num_workers=0, dataset=_split('val', test_pipeline),
                      sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = dict(batch_size=4, num_workers=0, dataset=_split('test', test_pipeline),
                       sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
