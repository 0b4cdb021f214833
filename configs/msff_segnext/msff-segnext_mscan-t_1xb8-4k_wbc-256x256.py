# MSFF-SegNeXt (Table 6 last row: Sobel EGA, shared "Multi" Hamburger) on the merged WBC data.
_base_ = [
    '../_base_/models/msff-segnext_mscan-t.py', '../_base_/datasets/wbc_nucleus.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]
