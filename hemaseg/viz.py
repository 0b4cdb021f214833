"""Overlays for qualitative results (the paper's contour figures, spec 000 §6.6/§7.3).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

All functions take and return RGB uint8 arrays; only :func:`save_overlay` touches
disk (through :func:`hemaseg.data.io.write_image`, so BGR order on disk as usual).
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .data.io import PathLike, write_image

PRED_COLOR = (255, 255, 0)  # yellow: visible on both purple nuclei and pink background
GT_COLOR = (0, 255, 0)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f'expected a uint8 image, got {image.dtype}')
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return image.copy()
    raise ValueError(f'expected HxW or HxWx3 image, got shape {image.shape}')


def _draw(canvas: np.ndarray, mask: np.ndarray, label: int, color: tuple[int, int, int], thickness: int) -> None:
    if mask.shape != canvas.shape[:2]:
        raise ValueError(f'mask shape {mask.shape} does not match image shape {canvas.shape[:2]}')
    binary = (np.asarray(mask) == label).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, color, thickness, lineType=cv2.LINE_8)


def draw_contour_overlay(image_rgb: np.ndarray, pred_mask: np.ndarray | None, gt_mask: np.ndarray | None = None,
                         label: int = 1, pred_color: tuple[int, int, int] = PRED_COLOR,
                         gt_color: tuple[int, int, int] = GT_COLOR, thickness: int | None = None,
                         legend: bool = True) -> np.ndarray:
    """Image with the contours of ``mask == label`` drawn: ground truth, then prediction on top.

    ``thickness`` defaults to about 1/150 of the shorter side (at least 1 px), so the
    lines stay visible on 350x350 crops and do not swamp 120x120 ones. The legend is
    drawn in the top-left corner.
    """
    canvas = _as_rgb(image_rgb)
    h, w = canvas.shape[:2]
    t = thickness or max(1, round(min(h, w) / 150))
    entries = []
    if gt_mask is not None:
        _draw(canvas, gt_mask, label, gt_color, t)
        entries.append(('GT', gt_color))
    if pred_mask is not None:
        _draw(canvas, pred_mask, label, pred_color, t)
        entries.append(('pred', pred_color))
    if legend and entries:
        scale = max(0.3, min(h, w) / 600)
        y = 2
        for text, color in entries:
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            cv2.rectangle(canvas, (2, y), (6 + tw, y + th + base + 2), (0, 0, 0), -1)
            cv2.putText(canvas, text, (4, y + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
            y += th + base + 4
    return canvas


def save_overlay(path: PathLike, image_rgb: np.ndarray, pred_mask: np.ndarray | None,
                 gt_mask: np.ndarray | None = None, **kwargs) -> np.ndarray:
    """Draw with :func:`draw_contour_overlay` and write it to ``path`` (parents created); return it."""
    overlay = draw_contour_overlay(image_rgb, pred_mask, gt_mask, **kwargs)
    write_image(path, overlay)
    return overlay


def draw_title(image_rgb: np.ndarray, title: str | None = None,
               legend: Sequence[tuple[str, tuple[int, int, int]]] = ()) -> np.ndarray:
    """The image under a white strip holding ``title`` and, after it, each legend entry in its colour."""
    canvas = _as_rgb(image_rgb)
    if not title and not legend:
        return canvas
    w = canvas.shape[1]
    entries = ([(title, (0, 0, 0))] if title else []) + list(legend)
    scale = max(0.35, min(0.6, w / 900))
    while scale > 0.2 and max(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
                              for text, _ in entries) > w - 8:
        scale *= 0.95   # the longest entry fits on one line of narrow images (Hershey widths are not linear)
    (_, th), base = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    line = th + base + 4
    rows, x, y = [], 4, 0
    for text, color in entries:  # wrap entries onto new lines when the strip is full
        tw = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
        if x > 4 and x + tw > w - 4:
            x, y = 4, y + 1
        rows.append((text, color, x, y))
        x += tw + 12
    strip = np.full(((y + 1) * line + 2, w, 3), 255, np.uint8)
    for text, color, tx, ty in rows:
        cv2.putText(strip, text, (tx, ty * line + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    tuple(int(c * 0.8) for c in color), 1, cv2.LINE_AA)
    return np.concatenate([strip, canvas], axis=0)


def colorize_mask(mask: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Label map -> RGB via ``palette[label]``; labels beyond the palette (e.g. 255 ignore) are white."""
    lut = np.full((256, 3), 255, np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[np.asarray(mask).astype(np.uint8)]


def side_by_side(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Concatenate RGB/grey uint8 panels horizontally (e.g. image | GT | prediction).

    Shorter panels are padded at the bottom; panels are separated by ``gap`` white pixels.
    """
    if not images:
        raise ValueError('side_by_side needs at least one image')
    panels = [_as_rgb(im) for im in images]
    h = max(p.shape[0] for p in panels)
    parts = []
    for i, p in enumerate(panels):
        if i:
            parts.append(np.full((h, gap, 3), 255, np.uint8))
        parts.append(np.pad(p, ((0, h - p.shape[0]), (0, 0), (0, 0))))
    return np.concatenate(parts, axis=1)
