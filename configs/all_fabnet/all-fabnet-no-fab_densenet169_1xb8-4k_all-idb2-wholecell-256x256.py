# ALL-FABNET without the Flipping Attention Block (spec 003 Table III): PAM alone at the bottleneck.
# Data: python tools/dataset_converters/all_idb2.py ../shared/data/all_idb2 --target wholecell --out data/all_idb2_wholecell
# Train: python tools/train.py configs/all_fabnet/all-fabnet-no-fab_densenet169_1xb8-4k_all-idb2-wholecell-256x256.py [--cfg-options fold=K]
_base_ = [
    '../_base_/models/all-fabnet_densenet169.py', '../_base_/datasets/all_idb2_wholecell.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]
model = dict(decode_head=dict(use_fab=False))
