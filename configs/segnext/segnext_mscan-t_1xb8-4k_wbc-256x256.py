# SegNeXt-T baseline (Table 6 first row: no EGA, one Hamburger) on the merged WBC data.
_base_ = [
    '../_base_/models/segnext_mscan-t.py', '../_base_/datasets/wbc_nucleus.py',
    '../_base_/schedules/scratch_adamw_poly.py', '../_base_/default_runtime.py'
]
