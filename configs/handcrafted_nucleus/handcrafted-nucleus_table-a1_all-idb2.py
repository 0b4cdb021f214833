# Handcrafted nucleus segmentation of spec 002 (Algorithm 1, Table A1) on
# ALL-IDB2 (260 crops of 257x257, Loddo and Putzu's expert nucleus masks). No training and no checkpoint:
#   python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --target nucleus --out data/all_idb2_nucleus
#   python tools/test.py configs/handcrafted_nucleus/handcrafted-nucleus_table-a1_all-idb2.py none
# The fold's test split is scored (other folds: --cfg-options fold=K), at the original image size.
_base_ = ['../_base_/models/handcrafted_nucleus.py', '../_base_/datasets/all_idb2_nucleus.py',
          '../_base_/default_runtime.py']
# Test only: MMEngine's Runner wants all of train_dataloader / train_cfg / optim_wrapper or none.
train_dataloader = None
val_cfg = dict(type='ValLoop')  # tools/test.py --split val
test_cfg = dict(type='TestLoop')
