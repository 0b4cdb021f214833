# ALL-IDB2 (Labati et al. 2011): 260 single-cell crops of 257x257, nucleus vs rest (expert masks of
# Loddo and Putzu), with the explainable-CAD augmentation (spec 002 §4.2, see
# explainable_cad_nucleus_256x256.py). Metrics are computed on the prediction resized back to 257x257.
_base_ = ['./explainable_cad_nucleus_256x256.py']
data_root = 'data/all_idb2_nucleus'
data_preparation = ('python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --target nucleus '
                    '--out data/all_idb2_nucleus')
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
inference = dict(source_crop_size=(257, 257), max_crop_size=(257, 257))  # tools/infer.py
