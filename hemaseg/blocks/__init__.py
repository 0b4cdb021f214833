"""Framework-free building blocks of the papers (plain PyTorch)."""
from .attention import CBAM, ChannelGate, EdgeGuidedAttention, SpatialGate
from .edges import edge_map, laplacian_band, laplacian_pyramid_edge, rgb_to_grayscale, sobel_magnitude

__all__ = ['CBAM', 'ChannelGate', 'EdgeGuidedAttention', 'SpatialGate', 'edge_map', 'laplacian_band',
           'laplacian_pyramid_edge', 'rgb_to_grayscale', 'sobel_magnitude']
