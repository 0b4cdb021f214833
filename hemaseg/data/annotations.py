"""Source annotations of the converters: image/annotation file pairing, LabelMe polygons and
instance-id masks, read into :class:`Region` s (a boolean mask over the region's box).

Shared by the SN-AM crop converter (:mod:`hemaseg.data.sn_am`) and the COCO instance
converters (:mod:`hemaseg.data.coco_converters`). Every error is a
:class:`~hemaseg.data.io.DatasetError` naming the file (and the shape in it).
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .io import DatasetError, PathLike, read_instance_mask

IMAGE_EXTS = ('.bmp', '.png', '.jpg', '.jpeg', '.tif', '.tiff')
_SHIFT = 4  # fixed-point bits for cv2.fillPoly: keeps LabelMe's sub-pixel vertices


@dataclass
class Region:
    """One annotated object as a boolean mask over its bounding box, placed at (top, left) in the image."""

    top: int
    left: int
    mask: np.ndarray
    origin: str  # e.g. 'shape #3 of x.json', for messages

    def centroid(self) -> tuple[float, float]:
        ys, xs = np.nonzero(self.mask)
        return self.top + float(ys.mean()), self.left + float(xs.mean())


def load_labelme_regions(path: PathLike, image_hw: tuple[int, int], accept: Callable[[str], bool],
                         bounds_tolerance: float = 3.0) -> tuple[list[tuple[str, Region]], Counter]:
    """``(label, region)`` for every LabelMe polygon whose label passes ``accept``, and a
    Counter of the labels of the ignored shapes.

    Errors: unreadable JSON, no ``shapes`` list, ``imageWidth``/``imageHeight`` other
    than the image's, a non-polygon shape, fewer than 3 points, non-finite or more than
    ``bounds_tolerance`` px outside the image, (almost) zero area, no pixel covered.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f'annotation {path} is not readable JSON: {e}') from e
    if not isinstance(doc, dict) or not isinstance(doc.get('shapes'), list):
        raise DatasetError(f'annotation {path} is not a LabelMe file (no "shapes" list)')
    h, w = image_hw
    jh, jw = doc.get('imageHeight'), doc.get('imageWidth')
    if (jh is not None and jh != h) or (jw is not None and jw != w):
        raise DatasetError(f'annotation {path} is for a {jw}x{jh} image but the image is {w}x{h} (WxH)')
    regions, ignored = [], Counter()
    for i, shape in enumerate(doc['shapes']):
        name = str(shape.get('label', '')).strip()
        if not accept(name):
            ignored[name] += 1
            continue
        where = f'shape #{i} ({name!r}) of {path}'
        if shape.get('shape_type', 'polygon') not in (None, 'polygon'):
            raise DatasetError(f'{where} has shape_type {shape.get("shape_type")!r}; only polygons are supported')
        try:
            pts = np.asarray(shape.get('points'), dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise DatasetError(f'{where} has malformed points') from e
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
            raise DatasetError(f'{where} needs at least 3 (x, y) points, got {len(pts) if pts.ndim else 0}')
        if not np.isfinite(pts).all():
            raise DatasetError(f'{where} has non-finite coordinates')
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        if (lo < -bounds_tolerance).any() or hi[0] > w + bounds_tolerance or hi[1] > h + bounds_tolerance:
            raise DatasetError(f'{where} spans x {lo[0]:.1f}..{hi[0]:.1f}, y {lo[1]:.1f}..{hi[1]:.1f}, more than '
                               f'{bounds_tolerance} px outside the {w}x{h} image')
        x, y = pts[:, 0], pts[:, 1]
        if abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2 < 1.0:
            raise DatasetError(f'{where} has (almost) zero area')
        x0, y0 = max(int(math.floor(lo[0])), 0), max(int(math.floor(lo[1])), 0)
        x1, y1 = min(int(math.ceil(hi[0])) + 1, w), min(int(math.ceil(hi[1])) + 1, h)
        local = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.uint8)
        if local.size:
            fixed = np.round((pts - [x0, y0]) * (1 << _SHIFT)).astype(np.int32)
            cv2.fillPoly(local, [fixed], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        if not local.any():
            raise DatasetError(f'{where} covers no pixel of the image')
        regions.append((name, Region(y0, x0, local.astype(bool), where)))
    return regions, ignored


def load_instance_regions(path: PathLike, image_hw: tuple[int, int]) -> list[Region]:
    """Regions of an instance-id mask (0 = background, k > 0 = instance k), by ascending id."""
    inst = read_instance_mask(path)
    if inst.shape != tuple(image_hw):
        raise DatasetError(f'instance mask {path} is {inst.shape[1]}x{inst.shape[0]} but the image is '
                           f'{image_hw[1]}x{image_hw[0]} (WxH)')
    flat = inst.ravel()
    idx = np.flatnonzero(flat)
    idx = idx[np.argsort(flat[idx], kind='stable')]  # group pixels by id without one pass per id
    ids, starts = np.unique(flat[idx], return_index=True)
    regions = []
    for inst_id, pix in zip(ids, np.split(idx, starts[1:])):
        ys, xs = np.divmod(pix, inst.shape[1])
        top, left = int(ys.min()), int(xs.min())
        local = np.zeros((int(ys.max()) - top + 1, int(xs.max()) - left + 1), bool)
        local[ys - top, xs - left] = True
        regions.append(Region(top, left, local, f'instance {int(inst_id)} of {path}'))
    return regions


def safe_stem(stem: str) -> str:
    """``stem`` with every character outside ``[A-Za-z0-9._-]`` replaced by '_' (no leading dot)."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', stem).lstrip('.') or '_'


def _files_by_stem(folder: Path, exts: tuple[str, ...], what: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in exts:
            if p.stem in files:
                raise DatasetError(f'two {what} share the stem {p.stem!r}: {files[p.stem].name}, {p.name}')
            files[p.stem] = p
    return files


def find_annotated_images(img_dir: Path, ann_dir: Path, ann_exts: tuple[str, ...]
                          ) -> tuple[dict[str, Path], dict[str, Path], dict[str, str]]:
    """``(images, annotations, safe)``: image and annotation files by stem, and every
    image stem made file-name safe. Two files per stem, an annotation without image, no
    image at all or stems colliding once made safe are errors; images without
    annotation are allowed (the caller reports them)."""
    image_files = _files_by_stem(img_dir, IMAGE_EXTS, 'images')
    if not image_files:
        raise DatasetError(f'no images ({", ".join(IMAGE_EXTS)}) in {img_dir}')
    ann_files = _files_by_stem(ann_dir, ann_exts, 'annotations')
    if orphans := sorted(set(ann_files) - set(image_files)):
        raise DatasetError(f'{len(orphans)} annotation(s) have no image in {img_dir}: '
                           + ', '.join(ann_files[s].name for s in orphans[:20]))
    safe = {s: safe_stem(s) for s in image_files}
    if clash := [s for s, n in Counter(safe.values()).items() if n > 1]:
        raise DatasetError(f'image names collide after making them file-name safe: {clash}')
    return image_files, ann_files, safe


def input_dirs(images: PathLike, annotations: PathLike | None) -> tuple[Path, Path]:
    """Resolved image and annotation folders (annotations default to the image folder), both checked."""
    img_dir = Path(images).resolve()
    ann_dir = Path(annotations).resolve() if annotations is not None else img_dir
    for what, d in (('image', img_dir), ('annotation', ann_dir)):
        if not d.is_dir():
            raise DatasetError(f'{what} folder {d} does not exist')
    return img_dir, ann_dir
