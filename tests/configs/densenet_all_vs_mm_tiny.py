# configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py shrunk for tests: the same classes ('ALL', 'MM'),
# pipeline steps (MaskOutsideNucleus, long-side resize + black padding to a square) and model type,
# with a tiny DenseNet (17 output channels) at 32x32.
_base_ = ['../../configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py']
model = dict(backbone=dict(arch=dict(_delete_=True, growth_rate=8, depths=(1, 1, 1, 1), init_channels=16)),
             head=dict(in_channels=17))
input_size = 32
_resize_pad = [dict(type='ResizeEdge', scale=input_size, edge='long', interpolation='bilinear'),
               dict(type='Pad', size=(input_size, input_size), pad_val=0)]
test_pipeline = _base_.cls_load + _base_.cls_cell_mask + _resize_pad + _base_.cls_pack
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
