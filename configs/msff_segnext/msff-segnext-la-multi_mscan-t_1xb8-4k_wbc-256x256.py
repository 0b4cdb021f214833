# Ablation: Table 6 row 3 (Laplacian EGA, shared second Hamburger).
_base_ = ['./msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py']
model = dict(decode_head=dict(edge_operator='laplacian', num_hamburgers=2, share_hamburger=True))
