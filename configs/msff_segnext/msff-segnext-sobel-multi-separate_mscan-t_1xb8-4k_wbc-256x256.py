# Ablation: MSFF-SegNeXt with a separate (unshared) second Hamburger and Fea block (spec 000 A4).
_base_ = ['./msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py']
model = dict(decode_head=dict(edge_operator='sobel', num_hamburgers=2, share_hamburger=False))
