# Handcrafted nucleus segmentation of spec 002 (Algorithm 1, Table A1) on
# CellaVision (Zheng et al. 2018 dataset 2, 100 images of 300x300). No training and no checkpoint:
#   python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 --subsets dataset2 --out data/wbc_cellavision_nucleus
#   python tools/test.py configs/handcrafted_nucleus/handcrafted-nucleus_table-a1_wbc-cellavision.py none
# The fold's test split is scored (other folds: --cfg-options fold=K), at the original image size.
_base_ = ['../_base_/models/handcrafted_nucleus.py', '../_base_/datasets/wbc_cellavision_nucleus.py',
          '../_base_/default_runtime.py']
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = None
val_cfg = dict(type='ValLoop')  # tools/test.py --split val
test_cfg = dict(type='TestLoop')
