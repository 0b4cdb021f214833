# MSFF-SegNeXt (spec 000 §2.0): SegNeXt-T with Hamburger -> EGA(Sobel) -> shared Hamburger.
_base_ = ['./segnext_mscan-t.py']
model = dict(
    type='EdgeGuidedEncoderDecoder',
    decode_head=dict(type='MSFFHead', edge_operator='sobel', num_hamburgers=2, share_hamburger=True))
