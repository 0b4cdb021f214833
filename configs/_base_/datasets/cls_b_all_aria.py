# B-ALL ARIA (Aria et al. 2021; ../shared/data/b_all_aria2021): 3,216 224x224 smear fields, four
# classes in label order benign, early_pre_b, pre_b, pro_b (meta.json) - the public stand-in for
# the paper's non-public 3-class FAB "Leukemia Dataset" (spec 002 §5). File names do not identify
# the patient: the splits may put one patient on both sides (converter's leakage warning).
# Model configs set model.head.num_classes = 4.
_base_ = ['./cls_class_folders.py']
data_root = 'data/b_all_aria'
data_preparation = 'python tools/dataset_converters/class_folders.py /path/to/b_all_aria2021 --out data/b_all_aria'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
