# DeepLabV3 (ResNet-50) baseline on ALL-IDB2 whole cells, same data and schedule as ALL-FABNET. Sized for a 2-core CPU (128x128 input, 600 iterations): the runs of docs/results.md.
_base_ = [
    '../_base_/models/deeplabv3_r50.py', '../_base_/datasets/all_idb2_wholecell_128x128.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]

