# R2U-Net baseline (t=2, base 64): registered by mmseg_plugins; the same 1x1 classifier on
# the full-resolution decoder output as the U-Net config.
_base_ = ['./unet.py']
model = dict(
    backbone=dict(_delete_=True, type='R2UNet', in_channels=3, base_channels=64, num_stages=5, t=2),
    decode_head=dict(in_index=0))
