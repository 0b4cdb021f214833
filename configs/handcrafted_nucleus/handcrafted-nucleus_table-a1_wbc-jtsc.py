# Handcrafted nucleus segmentation of spec 002 (Algorithm 1, Table A1) on
# JTSC (Zheng et al. 2018 dataset 1, 300 images of 120x120). No training and no checkpoint:
#   python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 --subsets dataset1 --out data/wbc_jtsc_nucleus
#   python tools/test.py configs/handcrafted_nucleus/handcrafted-nucleus_table-a1_wbc-jtsc.py none
# The fold's test split is scored (other folds: --cfg-options fold=K), at the original image size.
_base_ = ['../_base_/models/handcrafted_nucleus.py', '../_base_/datasets/wbc_jtsc_nucleus.py',
          '../_base_/default_runtime.py']
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = None
val_cfg = dict(type='ValLoop')  # tools/test.py --split val
test_cfg = dict(type='TestLoop')
