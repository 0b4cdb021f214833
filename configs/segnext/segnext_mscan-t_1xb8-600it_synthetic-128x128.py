# SegNeXt-T on the embedded synthetic crops, same schedule as the MSFF-SegNeXt demo.
_base_ = [
    '../_base_/models/segnext_mscan-t.py', '../_base_/datasets/synthetic_nucleus.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
