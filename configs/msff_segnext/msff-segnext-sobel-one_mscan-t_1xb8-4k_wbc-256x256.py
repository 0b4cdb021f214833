# Ablation: Table 6 row 4 (Sobel EGA, one Hamburger).
_base_ = ['./msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py']
model = dict(decode_head=dict(edge_operator='sobel', num_hamburgers=1, share_hamburger=True))
