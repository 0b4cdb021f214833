# ALL-FABNET (spec 003) on ALL-IDB2 whole-cell masks; the paper's schedule is not stated: the project's from-scratch schedule, shared by every baseline here. Sized for a 2-core CPU (128x128 input, 600 iterations): the runs of docs/results.md.
_base_ = [
    '../_base_/models/all-fabnet_densenet169.py', '../_base_/datasets/all_idb2_wholecell_128x128.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]

