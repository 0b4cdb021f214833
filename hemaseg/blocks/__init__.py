"""Framework-free building blocks of the papers (plain PyTorch).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

MSFF-SegNeXt (spec 000): edge operators, CBAM, EdgeGuidedAttention, R2U-Net baseline.
YOLACT-CIS (spec 001): Ghost modules / Ghost-ResNet, DDAM, DFFN.
R-Mask R-CNN (spec 004): softmax channel/spatial attention, the attention FPN, the fusion mask head.
ALL-FABNET (spec 003): the Flipping Attention Block and its external-memory unit.
"""
from .attention import CBAM, ChannelGate, EdgeGuidedAttention, SpatialGate
from .attention_fpn import AttentionFPN, SoftmaxChannelAttention, SoftmaxSpatialAttention, build_attention
from .ddam import DualDomainAttention, FrequencyChannelAttention, dct_basis
from .dffn import DualStreamFeatureFusion
from .edges import edge_map, laplacian_band, laplacian_pyramid_edge, rgb_to_grayscale, sobel_magnitude
from .flipping_attention import ExternalMemoryUnit, FlippingAttentionBlock
from .ghost import GhostBottleneck, GhostModule, GhostResNet, ghost_resnet50, resnet50
from .mask_heads import SemanticFusionMaskHead
from .r2unet import R2UNet

__all__ = [
    'AttentionFPN', 'CBAM', 'ChannelGate', 'DualDomainAttention', 'DualStreamFeatureFusion', 'EdgeGuidedAttention',
    'ExternalMemoryUnit', 'FlippingAttentionBlock', 'FrequencyChannelAttention', 'GhostBottleneck', 'GhostModule',
    'GhostResNet', 'R2UNet', 'SemanticFusionMaskHead', 'SoftmaxChannelAttention', 'SoftmaxSpatialAttention',
    'SpatialGate', 'build_attention', 'dct_basis', 'edge_map', 'ghost_resnet50', 'laplacian_band',
    'laplacian_pyramid_edge', 'resnet50', 'rgb_to_grayscale', 'sobel_magnitude'
]
