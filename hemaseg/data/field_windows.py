"""Training windows that look like the windows whole-field inference cuts.

Every training image of the nucleus datasets here (WBC, ALL-IDB2, the synthetic set) has one white
cell in its centre. A model trained on them resized to the network input learns that a nucleus is
always there, and at inference on a whole smear field (``tools/infer.py --whole-field``: rescale,
then sliding windows of the network input size) it puts a "nucleus" into windows that hold only red
cells or background. :func:`sample_field_window` draws training windows the way inference sees a
field instead:

* the image is rescaled by the factor single-crop training used (network input size / image size,
  per image: WBC's two sub-datasets differ in magnification, and this is the scale at which the model
  learned what a cell looks like) or by a fixed ``scale``, jittered log-uniformly within
  ``[scale / scale_jitter, scale * scale_jitter]``;
* a window of the network input size is cut at a random position, so the cell lands anywhere in it,
  partly outside it, or not in it at all; where the window runs past the image, the image is filled
  with the median colour of its border and the mask with ``ignore_index``, so the loss learns
  nothing about the filled part (no false "background" label on what a field would show there);
* with probability ``empty_prob`` the window is one whose mask has no pixel of ``nucleus_label``
  (the labelled red cells and background of WBC dataset2's 300x300 and ALL-IDB2's 257x257 images);
  when ``max_tries`` random positions find none (a small image filled by its cell) the last one is
  used and ``empty`` says so. Otherwise the window holds a randomly chosen nucleus pixel at a random
  place, so the share of empty windows is what ``empty_prob`` asks, not what the image's size gives.

Plain numpy / OpenCV; the mmseg transform is :class:`mmseg_plugins.transforms.RandomFieldWindow`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FieldWindow:
    """One sampled window: ``image`` (h x w x C) and ``mask`` (h x w) at the network input size, the
    ``scale`` (h, w) applied to the source, the window's top-left ``(y, x)`` in the rescaled image (may be
    negative: filled border), whether an empty window was asked for and whether it is empty."""
    image: np.ndarray
    mask: np.ndarray
    scale: float
    origin: tuple
    wanted_empty: bool
    empty: bool


def _window(array: np.ndarray, y: int, x: int, h: int, w: int, fill) -> np.ndarray:
    """``array[y:y+h, x:x+w]``, the part outside the array set to ``fill``."""
    H, W = array.shape[:2]
    out = np.empty((h, w) + array.shape[2:], array.dtype)
    out[...] = fill
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, H), min(x + w, W)
    if y1 > y0 and x1 > x0:
        out[y0 - y:y1 - y, x0 - x:x1 - x] = array[y0:y1, x0:x1]
    return out


def _overlap(y: int, x: int, h: int, w: int, H: int, W: int) -> float:
    """Share of an h x w window at (y, x) that lies on an H x W image."""
    return max(0, min(y + h, H) - max(y, 0)) * max(0, min(x + w, W) - max(x, 0)) / (h * w)


def sample_field_window(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, size: tuple,
                        scale: float | None = None, scale_jitter: float = 1.25, empty_prob: float = 0.3,
                        nucleus_label: int = 1, ignore_index: int = 255, min_overlap: float = 0.25,
                        max_tries: int = 20) -> FieldWindow:
    """Draw one training window (module doc).

    Args:
        rng: the random generator.
        image: H x W (x C) source image; mask: H x W class indices.
        size: ``(h, w)`` of the window, the network input.
        scale: network-input pixels per source pixel; None: ``size / image size`` per image (the
            factor single-crop training resized it by).
        scale_jitter: the factor is drawn log-uniformly from ``[scale / j, scale * j]``.
        empty_prob: probability of asking for a window without ``nucleus_label``.
        ignore_index: mask value of the window's part beyond the image (the image there is filled
            with the median colour of the image's border, and the loss ignores it).
        min_overlap: least share of the window that lies on the image.
        max_tries: random positions tried for an empty window.
    """
    image, mask = np.asarray(image), np.asarray(mask)
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f'image {image.shape[:2]} and mask {mask.shape[:2]} differ in size')
    h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f'window size must be positive, got {size}')
    if (scale is not None and not scale > 0) or not scale_jitter >= 1:
        raise ValueError(f'need scale > 0 (or None) and scale_jitter >= 1, got {scale}, {scale_jitter}')
    if not 0 <= empty_prob <= 1 or not 0 < min_overlap <= 1 or max_tries < 1:
        raise ValueError(f'need 0 <= empty_prob <= 1, 0 < min_overlap <= 1 and max_tries >= 1, '
                         f'got {empty_prob}, {min_overlap}, {max_tries}')
    base = (h / image.shape[0], w / image.shape[1]) if scale is None else (scale, scale)
    jitter = math.exp(rng.uniform(-math.log(scale_jitter), math.log(scale_jitter)))
    factor = (base[0] * jitter, base[1] * jitter)
    H, W = max(1, round(image.shape[0] * factor[0])), max(1, round(image.shape[1] * factor[1]))
    if (H, W) != image.shape[:2]:
        shrink = H * W < image.shape[0] * image.shape[1]
        image = cv2.resize(image, (W, H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        mask = cv2.resize(mask, (W, H), interpolation=cv2.INTER_NEAREST)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    fill = np.median(border, axis=0).astype(image.dtype)

    def window_of(array, y, x, value):
        return _window(array, y, x, h, w, value)

    def random_position():
        for _ in range(100):  # positions with at least min_overlap of the window on the image
            y, x = int(rng.integers(-(h - 1), H)), int(rng.integers(-(w - 1), W))
            if _overlap(y, x, h, w, H, W) >= min(min_overlap, H * W / (h * w)):
                return y, x
        return (H - h) // 2, (W - w) // 2

    wanted_empty = bool(rng.random() < empty_prob)
    nucleus = np.flatnonzero(mask == nucleus_label)
    if wanted_empty or nucleus.size == 0:
        for _ in range(max_tries):  # retried until the window holds no nucleus pixel
            y, x = random_position()
            if not (window_of(mask, y, x, ignore_index) == nucleus_label).any():
                break
    else:
        # A window holding a random nucleus pixel at a random place in it: the cell lands anywhere,
        # also cut by the window's border, not always in the centre.
        py, px = divmod(int(nucleus[rng.integers(nucleus.size)]), W)
        y, x = py - int(rng.integers(h)), px - int(rng.integers(w))
    window_mask = window_of(mask, y, x, ignore_index)
    return FieldWindow(image=window_of(image, y, x, fill), mask=window_mask, scale=factor, origin=(y, x),
                       wanted_empty=wanted_empty, empty=not bool((window_mask == nucleus_label).any()))
