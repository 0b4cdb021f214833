# SegNeXt-T on WBC sized for a 2-core CPU (the run behind docs/results.md).
_base_ = [
    '../_base_/models/segnext_mscan-t.py', '../_base_/datasets/wbc_nucleus_128x128.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
