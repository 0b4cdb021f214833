# ALL-FABNET (configs/all_fabnet/all-fabnet_densenet169_1xb8-4k_all-idb2-wholecell-256x256.py: one sigmoid
# channel, classes ('background', 'cell')) shrunk for the mask tests of tools/precompute_masks.py:
# a tiny DenseNet encoder (growth 8, one layer per block, 16 stem channels; taps 16/24/20/18/17),
# 16-channel attention and decoder, images resized to 64x64.
_base_ = ['../../configs/all_fabnet/all-fabnet_densenet169_1xb8-4k_all-idb2-wholecell-256x256.py']
model = dict(
    backbone=dict(densenet=dict(arch=dict(_delete_=True, growth_rate=8, depths=(1, 1, 1, 1), init_channels=16))),
    decode_head=dict(in_channels=[16, 24, 20, 18, 17], channels=16, decoder_channels=(16, 16, 16, 16, 16)))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
