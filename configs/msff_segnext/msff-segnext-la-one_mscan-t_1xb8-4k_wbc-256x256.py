# Ablation: Table 6 row 2 (Laplacian EGA, one Hamburger).
_base_ = ['./msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py']
model = dict(decode_head=dict(edge_operator='laplacian', num_hamburgers=1, share_hamburger=True))
