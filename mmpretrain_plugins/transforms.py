"""The "Segmented" input of spec 002 (Table 1, §2.4 hard attention): pixels outside the
nucleus mask set to 0, as Algorithm 1 step 13 does to the original image.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).
"""
from __future__ import annotations

import os.path as osp
from pathlib import Path

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

MASK_TOOL = 'python tools/precompute_masks.py'


@TRANSFORMS.register_module()
class MaskOutsideNucleus(BaseTransform):
    """Set every pixel outside the image's nucleus mask to 0 (black).

    Put it right after ``LoadImageFromFile`` (before any resize or augmentation), so the
    mask and the image have their original, equal sizes. The mask of
    ``<root>/<images_dir>/<class>/<file>`` is ``<root>/<mask_root>/<class>/<stem><mask_suffix>``
    (non-zero = nucleus), as ``tools/precompute_masks.py`` writes it; ``<root>`` is the
    path before the last ``images_dir`` component of ``img_path``. An absolute ``mask_root``
    replaces ``<root>/<mask_root>``.

    Errors name the image and the mask: a missing mask (with the command that writes the
    masks), an unreadable one, or one whose size differs from the image's.

    Required keys: ``img``, ``img_path``. Modified keys: ``img``.
    """

    def __init__(self, mask_root: str = 'nucleus_masks', images_dir: str = 'images', mask_suffix: str = '.png'):
        self.mask_root = mask_root
        self.images_dir = images_dir
        self.mask_suffix = mask_suffix

    def mask_path(self, img_path: str) -> tuple[str, str]:
        """``(mask path, dataset root)`` of ``img_path``; ValueError if it is not under ``images_dir``."""
        parts = Path(img_path).parts
        if self.images_dir not in parts[:-1]:
            raise ValueError(f'MaskOutsideNucleus: {img_path} is not inside an {self.images_dir!r} folder, so its '
                             f'nucleus mask cannot be located (expected <root>/{self.images_dir}/<class>/<file>)')
        idx = len(parts) - 1 - parts[::-1].index(self.images_dir, 1)
        root = str(Path(*parts[:idx])) if idx else '.'
        rel = Path(*parts[idx + 1:]).with_suffix(self.mask_suffix)
        mask_root = self.mask_root if osp.isabs(self.mask_root) else osp.join(root, self.mask_root)
        return osp.join(mask_root, str(rel)), root

    def transform(self, results: dict) -> dict:
        img_path = results['img_path']
        mask_path, root = self.mask_path(img_path)
        if not osp.isfile(mask_path):
            if self.mask_root != 'nucleus_masks' and not osp.isabs(self.mask_root):
                # another folder (e.g. the ALL-FABNET / R-Mask R-CNN cell masks): a segmentation model's masks
                raise FileNotFoundError(
                    f'no mask for {img_path}: expected {mask_path}. Create the masks with:\n'
                    f'  {MASK_TOOL} {root} --method deep --mask-dir-name {self.mask_root} --config SEG_CONFIG '
                    '--checkpoint SEG_CKPT')
            raise FileNotFoundError(
                f'no nucleus mask for {img_path}: expected {mask_path}. Create the masks with:\n'
                f'  {MASK_TOOL} {root} --method handcrafted\n'
                f'or, for the paper\'s ensemble: {MASK_TOOL} {root} --config SEG_CONFIG --checkpoint SEG_CKPT')
        mask = cv2.imread(mask_path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise ValueError(f'cannot read the nucleus mask {mask_path} (of {img_path}); write it again with '
                             f'{MASK_TOOL} {root} --overwrite')
        if mask.ndim == 3:
            raise ValueError(f'nucleus mask {mask_path} (of {img_path}) has {mask.shape[2]} channels; expected a '
                             'single-channel 0/255 image')
        img = results['img']
        if mask.shape != img.shape[:2]:
            raise ValueError(f'nucleus mask {mask_path} is {mask.shape[1]}x{mask.shape[0]} (WxH) but image '
                             f'{img_path} is {img.shape[1]}x{img.shape[0]}; MaskOutsideNucleus must come before any '
                             f'resize, and the masks must be made from these images ({MASK_TOOL} {root} --overwrite)')
        inside = mask > 0
        results['img'] = np.where(inside[..., None] if img.ndim == 3 else inside, img, 0).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mask_root={self.mask_root!r}, images_dir={self.images_dir!r}, '
                f'mask_suffix={self.mask_suffix!r})')
