"""MMDetection adapters: mmdet registrations of the instance-segmentation papers (importing this registers them).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

=================  ======  =====================================================
name               kind    wraps
=================  ======  =====================================================
``GhostResNet``    MODELS  hemaseg.blocks.ghost.GhostResNet (spec 001 §2.1)
``DFFN``           MODELS  hemaseg.blocks.dffn.DualStreamFeatureFusion + DDAM
``BUCASAFPN``      MODELS  hemaseg.blocks.attention_fpn.AttentionFPN (spec 004)
``YOLACTCIS``      MODELS  mmdet YOLACT, protonet on N3 before DDAM (spec 001)
``SemanticFusion   MODELS  hemaseg.blocks.mask_heads.SemanticFusionMaskHead
MaskHead``                 (R-Mask R-CNN mask head, spec 004 §2.2.8)
``Shared2FCBBox    MODELS  mmdet's Shared2FCBBoxHead + logged foreground recall
HeadWithRecall``           (the collapse guard of hemaseg.training_guard)
=================  ======  =====================================================

Configs (``default_scope = 'mmdet'``) load it with
``custom_imports = dict(imports=['mmdet_plugins'], allow_failed_imports=False)``; importing it needs
mmdet, not mmseg.
"""
import mmengine_plugins  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)

from .backbones import GhostResNet
from .bbox_heads import Shared2FCBBoxHeadWithRecall
from .detectors import YOLACTCIS
from .mask_heads import SemanticFusionMaskHead
from .necks import BUCASAFPN, DFFN

__all__ = ['BUCASAFPN', 'DFFN', 'GhostResNet', 'SemanticFusionMaskHead', 'Shared2FCBBoxHeadWithRecall', 'YOLACTCIS']
