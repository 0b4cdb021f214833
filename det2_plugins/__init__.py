"""Detectron2 side: YOLACT / YOLACT-CIS meta-architecture, Ghost-ResNet, DFFN+DDAM and B-U-CA-SA FPN backbones.

Importing this package registers ``YOLACT`` in ``META_ARCH_REGISTRY`` and
``build_ghost_resnet_backbone``, ``build_ghost_resnet_dffn_backbone``,
``build_resnet_bucasa_fpn_backbone`` in ``BACKBONE_REGISTRY`` and ``SemanticFusionMaskHead`` in
``ROI_MASK_HEAD_REGISTRY``. Call :func:`add_hemaseg_config`
on ``get_cfg()`` before merging one of ``configs/*/detectron2/*.yaml``.

Detectron2 is optional and not on PyPI: see the README ("Detectron2") for installing it.
"""
try:
    import detectron2  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without detectron2
    raise ImportError(
        "det2_plugins needs Detectron2, which is not installed in this environment. It is not on PyPI: "
        "build it into .venv with DETECTRON2_SOURCE=<tarball, clone or git URL> bash tools/setup_env.sh "
        "(README, 'Detectron2 in the same environment')") from exc

from . import backbone, mask_head, meta_arch  # noqa: F401,E402  (registration)
from .config import add_hemaseg_config  # noqa: E402
from .data import build_mapper, register_coco_folder  # noqa: E402

__all__ = ['add_hemaseg_config', 'build_mapper', 'register_coco_folder']
