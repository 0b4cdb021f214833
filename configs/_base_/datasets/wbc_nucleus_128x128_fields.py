# WBC at 128x128 network input, trained for whole smear fields (tools/infer.py --whole-field):
# windows like the ones inference cuts instead of whole single-cell images resized to the input
# (mmseg_plugins RandomFieldWindow, hemaseg/data/field_windows.py): each image at the scale that
# single-crop training gave it (128 / its size), jittered by up to 1.25x, a 128x128 window at a random
# place (the cell anywhere, cut by the border or absent), 30 % of the windows without nucleus, and the
# window's part beyond the image ignored by the loss. Validation and test are unchanged (whole
# images resized to 128x128), so the test Dice stays comparable with the single-crop configs.
_base_ = ['./wbc_nucleus_128x128.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFieldWindow', crop_size=(128, 128), scale=None, scale_jitter=1.25, empty_prob=0.3),
    dict(type='RandomRotate', prob=0.5, degree=180, pad_val=0, seg_pad_val=255),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# Whole-field inference (tools/infer.py, tools/field_eval.py) drops predicted components smaller than
# 100 network-input pixels (a 10x10 patch of the 128x128 input; 99 % of the nucleus components in the
# WBC fold-0 training masks have 352 or more at their training scale). The source crop sizes are the
# single-crop configs' (wbc_nucleus.py).
inference = dict(min_area=100)
