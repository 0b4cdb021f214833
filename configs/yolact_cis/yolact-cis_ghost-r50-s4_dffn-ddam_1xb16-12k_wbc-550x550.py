# YOLACT-CIS (spec 001): Ghost-ResNet-50 with S = 4 -> DFFN (FPN + bottom-up path, N3..N7)
# -> one DDAM per level -> YOLACT prediction head; the protonet takes N3 before DDAM
# (YOLACTCIS detector). Everything else (head, anchors, losses, data, schedule) is the YOLACT
# baseline's, as in the paper ("the same hyper-parameters").
# The backbone trains from scratch (no public Ghost-ResNet weights). To start from a local
# checkpoint of hemaseg's ghost_resnet50 (same state-dict keys):
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=/path/ckpt.pth
_base_ = ['./yolact_r50_fpn_1xb16-12k_wbc-550x550.py']
model = dict(
    type='YOLACTCIS',
    backbone=dict(
        _delete_=True, type='GhostResNet', depth=50, ghost_ratio=4, dw_size=3, out_indices=(1, 2, 3),
        frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, init_cfg=None),
    neck=dict(
        _delete_=True, type='DFFN', in_channels=[512, 1024, 2048], out_channels=256, num_outs=5,
        bottom_up=True, attention=True,
        # DDAM: DCT components Y00 + Y01 + Y10, r = 16, basis divided by H*W so that Y00 = GAP
        # (hemaseg's declared deviation from the literal Eq. 1; dct_norm='none' is literal).
        attention_kwargs=dict(freqs=[(0, 0), (0, 1), (1, 0)], dct_norm='mean')))
