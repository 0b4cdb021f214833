"""Detectron2 backbones: registration and glue around the plain-PyTorch blocks of :mod:`hemaseg.blocks`.

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

* ``build_ghost_resnet_backbone``: Ghost-ResNet (spec 001 §2.1), outputs ``res2``..``res5``.
* ``build_ghost_resnet_dffn_backbone``: Ghost-ResNet -> DFFN (+ DDAM) (spec 001 §2.2-2.3),
  outputs ``n3``..``n7`` (``p3``..``p7`` without the bottom-up path) and ``proto``, the
  prototype source (N3 *before* DDAM, spec 001 §2.2 item 5).
* ``build_resnet_bucasa_fpn_backbone``: Detectron2's ResNet -> FPN + bottom-up path with
  attention (R-Mask R-CNN, spec 004 §2.2), outputs named ``p2``..``p6`` like Detectron2's FPN so
  that the standard RPN / RoI-head configs apply unchanged (they are the N2..N6 levels).
"""
from __future__ import annotations

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone, build_resnet_backbone

from hemaseg.blocks.attention_fpn import AttentionFPN
from hemaseg.blocks.dffn import DualStreamFeatureFusion
from hemaseg.blocks.ghost import GhostResNet

_STAGE_NAMES = ("res2", "res3", "res4", "res5")
_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


def _norm_factory(norm: str):
    """Detectron2 norm name -> ``norm_layer(channels)``; ``""`` -> ``None`` (conv bias)."""
    if not norm:
        return None
    return lambda channels: get_norm(norm, channels)


def _check_in_features(names, available, what: str) -> None:
    missing = [n for n in names if n not in available]
    if missing:
        raise ValueError(f"{what}: features {missing} are not produced by the bottom-up network "
                         f"(it has {sorted(available)})")


class GhostResNetBackbone(Backbone):
    """:class:`hemaseg.blocks.ghost.GhostResNet` as a Detectron2 ``Backbone`` (dict of ``res*`` maps)."""

    def __init__(self, depth: int = 50, ghost_ratio: int | None = 4, dw_size: int = 3,
                 out_features=("res3", "res4", "res5"), norm: str = "BN", frozen_stages: int = -1):
        super().__init__()
        if depth not in _DEPTHS:
            raise ValueError(f"MODEL.GHOST_RESNET.DEPTH must be one of {sorted(_DEPTHS)}, got {depth}")
        _check_in_features(out_features, _STAGE_NAMES, "MODEL.GHOST_RESNET.OUT_FEATURES")
        if not norm:
            raise ValueError('MODEL.GHOST_RESNET.NORM must name a norm layer ("BN", "SyncBN", "GN", "FrozenBN")')
        indices = [_STAGE_NAMES.index(n) for n in out_features]
        self.body = GhostResNet(_DEPTHS[depth], ghost_ratio=ghost_ratio, dw_size=dw_size, out_indices=indices,
                                frozen_stages=frozen_stages, norm_layer=_norm_factory(norm))
        self._out_features = list(out_features)
        self._out_feature_channels = dict(zip(out_features, self.body.out_channels))
        self._out_feature_strides = dict(zip(out_features, self.body.out_strides))

    def forward(self, x):
        return dict(zip(self._out_features, self.body(x)))


@BACKBONE_REGISTRY.register()
def build_ghost_resnet_backbone(cfg, input_shape: ShapeSpec) -> GhostResNetBackbone:
    g = cfg.MODEL.GHOST_RESNET
    if input_shape.channels != 3:
        raise ValueError(f"Ghost-ResNet expects 3 input channels, got {input_shape.channels}")
    return GhostResNetBackbone(g.DEPTH, g.RATIO or None, g.DW_SIZE, g.OUT_FEATURES, g.NORM, g.FROZEN_STAGES)


class _NeckBackbone(Backbone):
    """A bottom-up network followed by a neck whose levels all have ``out_channels`` channels and
    double their stride from the first input feature on (named ``<prefix><log2 stride>``)."""

    def __init__(self, bottom_up: Backbone, in_features, what: str):
        super().__init__()
        self._shapes = bottom_up.output_shape()
        _check_in_features(in_features, self._shapes, what)
        self.bottom_up = bottom_up
        self.in_features = list(in_features)

    @property
    def in_channels(self) -> list[int]:
        return [self._shapes[f].channels for f in self.in_features]

    def _name_levels(self, prefix: str, num_levels: int, out_channels: int) -> None:
        first_stride = self._shapes[self.in_features[0]].stride
        first_level = first_stride.bit_length() - 1
        self._out_features = [f"{prefix}{first_level + i}" for i in range(num_levels)]
        self._out_feature_strides = {f: first_stride * 2 ** i for i, f in enumerate(self._out_features)}
        self._out_feature_channels = {f: out_channels for f in self._out_features}

    def _inputs(self, x):
        feats = self.bottom_up(x)
        return [feats[f] for f in self.in_features]


class DFFNBackbone(_NeckBackbone):
    """Bottom-up network + :class:`hemaseg.blocks.dffn.DualStreamFeatureFusion` (YOLACT-CIS neck).

    Returns the prediction levels (``n3``.. after DDAM, or ``p3``.. without the bottom-up path)
    and ``proto`` (the first level before DDAM), all 256 channels.
    """

    def __init__(self, bottom_up: Backbone, in_features, out_channels: int = 256, num_extra_levels: int = 2,
                 use_bottom_up_path: bool = True, attention: bool = True, attention_kwargs: dict | None = None,
                 upsample_mode: str = "bilinear"):
        super().__init__(bottom_up, in_features, "MODEL.DFFN.IN_FEATURES")
        self.neck = DualStreamFeatureFusion(self.in_channels, out_channels, bottom_up=use_bottom_up_path,
                                            num_extra_levels=num_extra_levels, attention=attention,
                                            attention_kwargs=attention_kwargs, upsample_mode=upsample_mode)
        self._name_levels("n" if use_bottom_up_path else "p", self.neck.num_outs, out_channels)
        first = self._out_features[0]
        self._out_features.append("proto")
        self._out_feature_strides["proto"] = self._out_feature_strides[first]
        self._out_feature_channels["proto"] = out_channels

    def forward(self, x):
        fused = self.neck.fuse(self._inputs(x))
        return {**dict(zip(self._out_features[:-1], self.neck.attend(fused))), "proto": fused[0]}


@BACKBONE_REGISTRY.register()
def build_ghost_resnet_dffn_backbone(cfg, input_shape: ShapeSpec) -> DFFNBackbone:
    d = cfg.MODEL.DFFN
    attention_kwargs = ({"freqs": [tuple(f) for f in d.DCT_FREQS], "dct_norm": d.DCT_NORM}
                        if d.ATTENTION else None)
    return DFFNBackbone(build_ghost_resnet_backbone(cfg, input_shape), d.IN_FEATURES, d.OUT_CHANNELS,
                        d.NUM_EXTRA_LEVELS, d.BOTTOM_UP, d.ATTENTION, attention_kwargs, d.UPSAMPLE_MODE)


class AttentionFPNBackbone(_NeckBackbone):
    """Bottom-up network + :class:`hemaseg.blocks.attention_fpn.AttentionFPN` (R-Mask R-CNN neck)."""

    def __init__(self, bottom_up: Backbone, in_features, out_channels: int = 256, top_down_attention=None,
                 use_bottom_up_path: bool = True, bottom_up_attention="ca-sa", literal: bool = False,
                 norm: str = ""):
        super().__init__(bottom_up, in_features, "MODEL.FPN.IN_FEATURES")
        self.neck = AttentionFPN(self.in_channels, out_channels, top_down_attention=top_down_attention or None,
                                 bottom_up=use_bottom_up_path, bottom_up_attention=bottom_up_attention or None,
                                 literal=literal, extra_level=True, norm_layer=_norm_factory(norm))
        self._name_levels("p", len(in_features) + 1, out_channels)
        self._size_divisibility = self._out_feature_strides[self._out_features[-1]] // 2

    @property
    def size_divisibility(self) -> int:
        return self._size_divisibility

    def forward(self, x):
        return dict(zip(self._out_features, self.neck(self._inputs(x))))


@BACKBONE_REGISTRY.register()
def build_resnet_bucasa_fpn_backbone(cfg, input_shape: ShapeSpec) -> AttentionFPNBackbone:
    a = cfg.MODEL.ATTENTION_FPN
    return AttentionFPNBackbone(build_resnet_backbone(cfg, input_shape), cfg.MODEL.FPN.IN_FEATURES,
                                cfg.MODEL.FPN.OUT_CHANNELS, a.TOP_DOWN_ATTENTION, a.BOTTOM_UP,
                                a.BOTTOM_UP_ATTENTION, a.LITERAL, cfg.MODEL.FPN.NORM)
