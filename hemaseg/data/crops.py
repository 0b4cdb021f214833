"""Fixed-size windows of an image with zero padding, and pasting region masks into them.

Used by the SN-AM nucleus-centred crops (:mod:`hemaseg.data.sn_am`) and the sliding-window /
square-padding COCO converters (:mod:`hemaseg.data.coco_converters`).
"""
from __future__ import annotations

import numpy as np


def _overlap(dst_hw: tuple[int, ...], src_hw: tuple[int, ...], top: int, left: int):
    """Slices (dst, src) of the part of ``src`` placed at (top, left) that lies inside ``dst``; None if none."""
    sy0, sx0 = max(-top, 0), max(-left, 0)
    sy1, sx1 = min(src_hw[0], dst_hw[0] - top), min(src_hw[1], dst_hw[1] - left)
    if sy1 <= sy0 or sx1 <= sx0:
        return None
    return ((slice(top + sy0, top + sy1), slice(left + sx0, left + sx1)), (slice(sy0, sy1), slice(sx0, sx1)))


def crop_with_padding(arr: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """``size`` x ``size`` window of ``arr`` at (top, left); outside the array is 0 (black)."""
    out = np.zeros((size, size) + arr.shape[2:], arr.dtype)
    if (ov := _overlap(out.shape, arr.shape, -top, -left)) is not None:
        out[ov[0]] = arr[ov[1]]
    return out


def paste_mask(dst: np.ndarray, src: np.ndarray, top: int, left: int) -> int:
    """OR boolean ``src`` into ``dst`` at (top, left), clipped; return the number of src pixels cut off."""
    ov = _overlap(dst.shape, src.shape, top, left)
    if ov is None:
        return int(src.sum())
    dst[ov[0]] |= src[ov[1]]
    return int(src.sum()) - int(src[ov[1]].sum())
