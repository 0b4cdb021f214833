# ALL-FABNET without the Flipping Attention Block (spec 003 Table III): PAM alone at the bottleneck. Sized for a 2-core CPU (128x128 input, 600 iterations): the runs of docs/results.md.
_base_ = [
    '../_base_/models/all-fabnet_densenet169.py', '../_base_/datasets/all_idb2_wholecell_128x128.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
model = dict(decode_head=dict(use_fab=False))
