# CellaVision (Zheng et al. 2018 dataset 2): 100 images of 300x300, nucleus vs rest, with the
# explainable-CAD augmentation (spec 002 §4.2, see explainable_cad_nucleus_256x256.py).
# Metrics are computed on the prediction resized back to 300x300.
_base_ = ['./explainable_cad_nucleus_256x256.py']
data_root = 'data/wbc_cellavision_nucleus'
data_preparation = ('python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 '
                    '--subsets dataset2 --out data/wbc_cellavision_nucleus')
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
inference = dict(source_crop_size=(300, 300), max_crop_size=(300, 300))  # tools/infer.py
