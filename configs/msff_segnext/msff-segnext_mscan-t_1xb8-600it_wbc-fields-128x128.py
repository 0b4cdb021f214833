# MSFF-SegNeXt for whole smear fields: the CPU WBC config with training windows like whole-field
# inference's (configs/_base_/datasets/wbc_nucleus_128x128_fields.py). The paper-protocol config
# (configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_wbc-128x128.py) stays as it is.
_base_ = [
    '../_base_/models/msff-segnext_mscan-t.py', '../_base_/datasets/wbc_nucleus_128x128_fields.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
