# The README's first command: MSFF-SegNeXt on the embedded synthetic crops, sized to
# train on 2 CPU cores in a few minutes.
_base_ = [
    '../_base_/models/msff-segnext_mscan-t.py', '../_base_/datasets/synthetic_nucleus.py',
    '../_base_/schedules/cpu_600it.py', '../_base_/default_runtime.py'
]
