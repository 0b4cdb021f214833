# DeepLabV3 (ResNet-50) baseline on ALL-IDB2 whole cells, same data and schedule as ALL-FABNET.
# Data: python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --target wholecell --out data/all_idb2_wholecell
# Train: python tools/train.py configs/deeplabv3/deeplabv3_r50-d8_1xb8-4k_all-idb2-wholecell-256x256.py [--cfg-options fold=K]
_base_ = [
    '../_base_/models/deeplabv3_r50.py', '../_base_/datasets/all_idb2_wholecell.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]

