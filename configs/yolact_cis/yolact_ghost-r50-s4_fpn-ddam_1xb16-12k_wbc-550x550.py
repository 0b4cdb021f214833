# Ablation, spec 001 Table 5 row 3 / Table 4 "FPN": Ghost-ResNet-50 (S = 4) + YOLACT's FPN
# + DDAM on every level, no bottom-up path.
_base_ = ['./yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py']
model = dict(neck=dict(bottom_up=False))
