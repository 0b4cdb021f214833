# ALL-IDB2 (../shared/data/all_idb2): 260 single-cell 257x257 crops, ALL (lymphoblast) vs normal
# (classes and their order from meta.json). Model configs set model.head.num_classes = 2.
_base_ = ['./cls_class_folders.py']
data_root = 'data/all_idb2_cls'
data_preparation = ('python tools/dataset_converters/all_idb2.py /path/to/all_idb2 --task classification '
                    '--out data/all_idb2_cls')
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
