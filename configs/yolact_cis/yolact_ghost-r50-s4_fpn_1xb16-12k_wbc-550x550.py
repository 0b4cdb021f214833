# Ablation, spec 001 Table 5 row 2: Ghost-ResNet-50 (S = 4) + YOLACT's FPN, no DFFN, no DDAM.
# The FPN is hemaseg's DFFN with the bottom-up path and the attention switched off, which is
# YOLACT's FPN (3x3 conv + ReLU on P3..P5, bilinear top-down, P6/P7 by stride-2 convs).
_base_ = ['./yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py']
model = dict(neck=dict(bottom_up=False, attention=False, attention_kwargs=None))
