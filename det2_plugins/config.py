"""Config keys of the Detectron2 plugins: call :func:`add_hemaseg_config` on ``get_cfg()`` first.

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

Defaults are YOLACT-CIS's (spec 001): Ghost-ResNet-50 with S = 4, DFFN with DDAM (DCT
components Y00, Y01, Y10), YOLACT head settings of the reference implementation; and
R-Mask R-CNN's B-U-CA-SA FPN (spec 004) with the mean-1 softmax attention.
"""
from __future__ import annotations

from detectron2.config import CfgNode as CN


def add_ghost_resnet_config(cfg: CN) -> None:
    """``MODEL.GHOST_RESNET``: the Ghost-ResNet backbone (spec 001 §2.1)."""
    cfg.MODEL.GHOST_RESNET = CN()
    cfg.MODEL.GHOST_RESNET.DEPTH = 50
    # The paper's adjustment factor S; 0 builds the plain ResNet with the same layout (YOLACT-R50).
    cfg.MODEL.GHOST_RESNET.RATIO = 4
    cfg.MODEL.GHOST_RESNET.DW_SIZE = 3
    cfg.MODEL.GHOST_RESNET.OUT_FEATURES = ["res3", "res4", "res5"]
    # Detectron2 norm name: "BN", "SyncBN", "GN", "FrozenBN" (from scratch: BN).
    cfg.MODEL.GHOST_RESNET.NORM = "BN"
    # -1 trains everything; 0 freezes the stem; i > 0 the stem and stages res2..res(i+1).
    cfg.MODEL.GHOST_RESNET.FROZEN_STAGES = -1


def add_dffn_config(cfg: CN) -> None:
    """``MODEL.DFFN``: the dual-stream feature fusion neck with DDAM (spec 001 §2.2-2.3)."""
    cfg.MODEL.DFFN = CN()
    cfg.MODEL.DFFN.IN_FEATURES = ["res3", "res4", "res5"]
    cfg.MODEL.DFFN.OUT_CHANNELS = 256
    cfg.MODEL.DFFN.NUM_EXTRA_LEVELS = 2
    # False: YOLACT's FPN (Table 4 "FPN").
    cfg.MODEL.DFFN.BOTTOM_UP = True
    # One DDAM per output level (False: Table 5 rows 1-2).
    cfg.MODEL.DFFN.ATTENTION = True
    cfg.MODEL.DFFN.DCT_FREQS = [[0, 0], [0, 1], [1, 0]]
    # "mean": DCT basis / (H*W) so that Y00 = GAP (declared deviation); "none": literal Eq. (1).
    cfg.MODEL.DFFN.DCT_NORM = "mean"
    cfg.MODEL.DFFN.UPSAMPLE_MODE = "bilinear"


def add_yolact_config(cfg: CN) -> None:
    """``MODEL.YOLACT``: head, anchors, losses and Fast NMS (spec 001 §2.4, §3 [EXT-YOLACT])."""
    cfg.MODEL.YOLACT = CN()
    cfg.MODEL.YOLACT.NUM_CLASSES = 1
    # Backbone outputs: the prediction levels, and the prototype source (N3 before DDAM).
    cfg.MODEL.YOLACT.IN_FEATURES = ["n3", "n4", "n5", "n6", "n7"]
    cfg.MODEL.YOLACT.PROTO_FEATURE = "proto"
    cfg.MODEL.YOLACT.NUM_PROTOTYPES = 32
    # Anchor sizes in input pixels, one per level (YOLACT's at 550 input; scale with the input).
    cfg.MODEL.YOLACT.ANCHOR_SCALES = [24.0, 48.0, 96.0, 192.0, 384.0]
    cfg.MODEL.YOLACT.ASPECT_RATIOS = [1.0, 0.5, 2.0]
    cfg.MODEL.YOLACT.SQUARE_ANCHORS = False
    cfg.MODEL.YOLACT.SEMANTIC_BRANCH = True
    cfg.MODEL.YOLACT.POS_IOU = 0.5
    cfg.MODEL.YOLACT.NEG_IOU = 0.4
    cfg.MODEL.YOLACT.NEG_POS_RATIO = 3.0
    cfg.MODEL.YOLACT.MASKS_TO_TRAIN = 100
    cfg.MODEL.YOLACT.LOSS_WEIGHT_CLS = 1.0
    cfg.MODEL.YOLACT.LOSS_WEIGHT_BOX = 1.5
    cfg.MODEL.YOLACT.LOSS_WEIGHT_MASK = 6.125
    cfg.MODEL.YOLACT.LOSS_WEIGHT_SEMANTIC = 1.0
    cfg.MODEL.YOLACT.SCORE_THRESH_TEST = 0.05
    cfg.MODEL.YOLACT.NMS_THRESH_TEST = 0.5
    cfg.MODEL.YOLACT.TOP_K_TEST = 200
    cfg.MODEL.YOLACT.DETECTIONS_PER_IMAGE = 100
    cfg.MODEL.YOLACT.MASK_THRESH_TEST = 0.5


def add_attention_fpn_config(cfg: CN) -> None:
    """``MODEL.ATTENTION_FPN``: R-Mask R-CNN's FPN with attention (spec 004 §2.2).

    The standard ``MODEL.FPN.IN_FEATURES`` / ``OUT_CHANNELS`` / ``NORM`` keys configure the rest.
    """
    cfg.MODEL.ATTENTION_FPN = CN()
    # Attention after each top-down level (FPN-AM): "", "ca", "sa", "ca-sa", "sa-ca".
    cfg.MODEL.ATTENTION_FPN.TOP_DOWN_ATTENTION = ""
    cfg.MODEL.ATTENTION_FPN.BOTTOM_UP = True
    # Attention after each bottom-up sum (final model: "ca-sa").
    cfg.MODEL.ATTENTION_FPN.BOTTOM_UP_ATTENTION = "ca-sa"
    # The paper's literal softmax attention (shrinks features by ~1/C, ~1/(HW); spec 004 A2/A3).
    cfg.MODEL.ATTENTION_FPN.LITERAL = False
    # Levels of the intra-RoI pyramid of ROI_MASK_HEAD.NAME "SemanticFusionMaskHead" (spec 004 §2.2.8).
    cfg.MODEL.ROI_MASK_HEAD.FUSION_LEVELS = 3


def add_hemaseg_config(cfg: CN) -> None:
    """All plugin keys, plus data keys used by ``tools/det2_train_net.py``.

    ``SOLVER.AMP.PRECISION``: ``"float16"`` or ``"bfloat16"`` autocast when ``SOLVER.AMP.ENABLED``.
    ``INPUT.FIXED_SIZE`` (h, w): when non-zero, every image is resized to exactly this size
    without keeping the aspect ratio (YOLACT's 550 x 550); otherwise the usual
    ``MIN_SIZE_*`` / ``MAX_SIZE_*`` resize applies. ``INPUT.VERTICAL_FLIP`` adds a vertical
    flip (blood smears have no "up"). ``DATASETS.COCO_ROOT``: a folder written by
    ``tools/dataset_converters/coco_instances.py`` (``images/``, ``annotations/*.json``);
    every ``annotations/<split>.json`` is registered as ``<DATASETS.COCO_NAME>_<split>``.
    """
    add_ghost_resnet_config(cfg)
    add_dffn_config(cfg)
    add_yolact_config(cfg)
    add_attention_fpn_config(cfg)
    cfg.INPUT.FIXED_SIZE = [0, 0]
    cfg.INPUT.VERTICAL_FLIP = False
    cfg.DATASETS.COCO_ROOT = ""
    cfg.DATASETS.COCO_NAME = "wbc_coco"
    # Autocast dtype of SOLVER.AMP.ENABLED: "float16" (Detectron2's, with a dynamic loss scale) or
    # "bfloat16" (no loss scale: bf16 has fp32's exponent range). det2_plugins.engine.Trainer.
    cfg.SOLVER.AMP.PRECISION = "float16"
    # Stop when the box head has classified every foreground RoI as background for this many iterations
    # after it had learned foreground (hemaseg.training_guard); 0 turns the guard off.
    cfg.SOLVER.COLLAPSE_PATIENCE = 100
    # Per-module gradient norms and attention-gate statistics into metrics.json (det2_plugins.diagnostics).
    cfg.DIAGNOSTICS = CN()
    cfg.DIAGNOSTICS.ENABLED = False
    cfg.DIAGNOSTICS.PERIOD = 1
