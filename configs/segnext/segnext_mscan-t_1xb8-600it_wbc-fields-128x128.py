# SegNeXt-T for whole smear fields (see msff-segnext_mscan-t_1xb8-600it_wbc-fields-128x128.py).
_base_ = [
    '../_base_/models/segnext_mscan-t.py', '../_base_/datasets/wbc_nucleus_128x128_fields.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
