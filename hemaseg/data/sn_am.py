"""Converter for SN-AM (TCIA, Gupta & Gupta 2019) B-ALL images into nucleus-centred crops.

Spec 000 §5.1: the paper locates every lymphoblast from the dataset's cell
annotations, cuts a 350x350 crop centred on its nucleus, fills with black where the
crop leaves the image, and segments the nucleus (binary mask). 30 images gave 127
crops; 6:2:2 split with three-fold CV.

Accepted input
--------------
``images``: a folder of full microscope images (``.bmp .png .jpg .jpeg .tif .tiff``).
Per image ``<stem>.<ext>``, its nuclei are given in the annotation folder
(``annotations``, default: the image folder) as either

(a) ``<stem>.json`` in LabelMe format: every shape whose label equals ``label``
    (default ``nucleus``, compared case-insensitively) is one nucleus polygon
    (``shape_type`` ``polygon``); shapes with other labels (e.g. ``cell``) are
    ignored and counted; or
(b) ``<stem>.png`` instance mask (only in a separate annotation folder, since in the
    image folder a PNG is an image): 0 = background, each positive value = one
    nucleus; 8- or 16-bit, same size as the image.

Output (project format, see :mod:`hemaseg.data.layout`): for nucleus k (0-based, in
annotation order; instance masks by ascending id) of image ``<stem>`` the crop
``<stem>_c<k>``, ``crop_size`` square, centred on the nucleus centroid with zero
padding. Its mask is 1 on that nucleus only: other nuclei that fall in the crop are
background, because the task is the nucleus of the centred cell
(``keep_other_nuclei=True`` labels them too). Splits are grouped by source image,
so crops of one image never straddle train/val/test.

Errors name the file: a polygon with fewer than 3 points, zero area, or points more
than ``bounds_tolerance`` pixels outside the image; an annotation whose image is
missing; a nucleus with no pixel inside the image; a size mismatch. An image without
annotation (or without any nucleus) is only warned about and listed at the end.
"""
from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .io import DatasetError, PathLike, read_image, read_instance_mask
from .layout import DatasetWriter, summarize_folds

IMAGE_EXTS = ('.bmp', '.png', '.jpg', '.jpeg', '.tif', '.tiff')
_SHIFT = 4  # fixed-point bits for cv2.fillPoly: keeps LabelMe's sub-pixel vertices


@dataclass
class Nucleus:
    """One nucleus as a boolean mask over its bounding box, placed at (top, left) in the image."""

    top: int
    left: int
    mask: np.ndarray
    origin: str  # e.g. 'shape #3 of x.json', for messages

    def centroid(self) -> tuple[float, float]:
        ys, xs = np.nonzero(self.mask)
        return self.top + float(ys.mean()), self.left + float(xs.mean())


def load_labelme_regions(path: PathLike, image_hw: tuple[int, int], accept: Callable[[str], bool],
                         bounds_tolerance: float = 3.0) -> tuple[list[tuple[str, Nucleus]], Counter]:
    """``(label, region)`` for every LabelMe polygon whose label passes ``accept``, and a
    Counter of the labels of the ignored shapes. Shared by the SN-AM crops and the COCO
    instance converters (:mod:`hemaseg.data.coco_converters`)."""
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
        regions.append((name, Nucleus(y0, x0, local.astype(bool), where)))
    return regions, ignored


def load_labelme_nuclei(path: PathLike, image_hw: tuple[int, int], label: str = 'nucleus',
                        bounds_tolerance: float = 3.0) -> tuple[list[Nucleus], Counter]:
    """Nuclei of a LabelMe JSON (shapes labelled ``label``, case-insensitive), and a Counter
    of the labels of the ignored shapes."""
    regions, ignored = load_labelme_regions(path, image_hw, lambda name: name.lower() == label.lower(),
                                            bounds_tolerance)
    return [r for _, r in regions], ignored


def load_instance_nuclei(path: PathLike, image_hw: tuple[int, int]) -> list[Nucleus]:
    """Nuclei of an instance-id mask, by ascending id."""
    inst = read_instance_mask(path)
    if inst.shape != tuple(image_hw):
        raise DatasetError(f'instance mask {path} is {inst.shape[1]}x{inst.shape[0]} but the image is '
                           f'{image_hw[1]}x{image_hw[0]} (WxH)')
    flat = inst.ravel()
    idx = np.flatnonzero(flat)
    idx = idx[np.argsort(flat[idx], kind='stable')]  # group pixels by id without one pass per id
    ids, starts = np.unique(flat[idx], return_index=True)
    nuclei = []
    for inst_id, pix in zip(ids, np.split(idx, starts[1:])):
        ys, xs = np.divmod(pix, inst.shape[1])
        top, left = int(ys.min()), int(xs.min())
        local = np.zeros((int(ys.max()) - top + 1, int(xs.max()) - left + 1), bool)
        local[ys - top, xs - left] = True
        nuclei.append(Nucleus(top, left, local, f'instance {int(inst_id)} of {path}'))
    return nuclei


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


def safe_stem(stem: str) -> str:
    """``stem`` with every character outside ``[A-Za-z0-9._-]`` replaced by '_' (no leading dot)."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', stem).lstrip('.') or '_'


def find_annotated_images(img_dir: Path, ann_dir: Path, ann_exts: tuple[str, ...]
                          ) -> tuple[dict[str, Path], dict[str, Path], dict[str, str]]:
    """``(images, annotations, safe)``: image and annotation files by stem, and every
    image stem made file-name safe. Two files per stem, an annotation without image, no
    image at all or stems colliding once made safe are errors; images without
    annotation are allowed (the caller reports them)."""
    image_files: dict[str, Path] = {}
    for p in sorted(img_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
            if p.stem in image_files:
                raise DatasetError(f'two images share the stem {p.stem!r}: {image_files[p.stem].name}, {p.name}')
            image_files[p.stem] = p
    if not image_files:
        raise DatasetError(f'no images ({", ".join(IMAGE_EXTS)}) in {img_dir}')
    ann_files: dict[str, Path] = {}
    for p in sorted(ann_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in ann_exts:
            if p.stem in ann_files:
                raise DatasetError(f'two annotations for {p.stem!r}: {ann_files[p.stem].name}, {p.name}')
            ann_files[p.stem] = p
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


def convert_sn_am(images: PathLike, out: PathLike, annotations: PathLike | None = None, crop_size: int = 350,
                  label: str = 'nucleus', keep_other_nuclei: bool = False, seed: int = 0,
                  bounds_tolerance: float = 3.0, log: Callable[[str], None] = print) -> dict:
    """Cut nucleus-centred crops from ``images`` into ``out`` (see module doc); return a summary."""
    t0 = time.perf_counter()
    img_dir, ann_dir = input_dirs(images, annotations)
    if crop_size < 8:
        raise DatasetError(f'crop size {crop_size} is too small')

    ann_exts = ('.json',) if ann_dir == img_dir else ('.json', '.png')
    image_files, ann_files, safe = find_annotated_images(img_dir, ann_dir, ann_exts)

    log(f'cutting {crop_size}x{crop_size} nucleus-centred crops from {len(image_files)} images in {img_dir} '
        f'(annotations: {ann_dir}) -> {out}')
    writer = DatasetWriter(out, dataset='sn_am', classes='nucleus', converter='sn_am', source=str(img_dir),
                           seed=seed, options={'annotations': str(ann_dir), 'crop_size': crop_size, 'label': label,
                                               'keep_other_nuclei': keep_other_nuclei, 'seed': seed,
                                               'bounds_tolerance': bounds_tolerance})
    unannotated, no_nuclei, truncated = [], [], []
    ignored: Counter = Counter()
    crops_per_image: dict[str, int] = {}
    half = crop_size // 2
    for n_img, (stem, img_path) in enumerate(image_files.items(), 1):
        ann = ann_files.get(stem)
        if ann is None:
            log(f'  warning: {img_path.name} has no annotation ({stem}.json'
                + (f' or {stem}.png' if '.png' in ann_exts else '') + f' in {ann_dir}); skipped')
            unannotated.append(img_path.name)
            continue
        image = read_image(img_path)
        if ann.suffix.lower() == '.json':
            nuclei, ign = load_labelme_nuclei(ann, image.shape[:2], label, bounds_tolerance)
            ignored += ign
        else:
            nuclei = load_instance_nuclei(ann, image.shape[:2])
        if not nuclei:
            log(f'  warning: {ann.name} has no {label!r} nucleus; {img_path.name} skipped')
            no_nuclei.append(ann.name)
            continue
        for k, nuc in enumerate(nuclei):
            cy, cx = nuc.centroid()
            top, left = math.floor(cy + 0.5) - half, math.floor(cx + 0.5) - half
            crop = crop_with_padding(image, top, left, crop_size)
            mask = np.zeros((crop_size, crop_size), bool)
            for other in (nuclei if keep_other_nuclei else [nuc]):
                lost = paste_mask(mask, other.mask, other.top - top, other.left - left)
                if other is nuc and lost:
                    log(f'  warning: {nuc.origin} is larger than the crop; {lost} px cut off')
                    truncated.append(f'{safe[stem]}_c{k}')
            writer.add(f'{safe[stem]}_c{k}', crop, mask.astype(np.uint8), group=safe[stem])
        crops_per_image[stem] = len(nuclei)
        log(f'  [{n_img}/{len(image_files)}] {img_path.name}: {len(nuclei)} crop(s)')
    if not writer.stems:
        raise DatasetError(f'no nucleus annotations found for any image in {img_dir} (label {label!r})')
    folds = writer.finalize()

    elapsed = time.perf_counter() - t0
    log(f'done in {elapsed:.1f} s: {len(writer.stems)} crops from {len(crops_per_image)} images')
    if ignored:
        log('  ignored shapes by label: ' + ', '.join(f'{k!r}: {v}' for k, v in sorted(ignored.items())))
    if unannotated:
        log(f'  {len(unannotated)} image(s) without annotation, skipped: {", ".join(unannotated)}')
    if no_nuclei:
        log(f'  {len(no_nuclei)} annotation(s) without nuclei, skipped: {", ".join(no_nuclei)}')
    if truncated:
        log(f'  {len(truncated)} nucleus/nuclei larger than the crop (cut off): {", ".join(truncated)}')
    for line in summarize_folds(folds):
        log('  ' + line)
    return {'num_crops': len(writer.stems), 'crops_per_image': crops_per_image, 'unannotated': unannotated,
            'no_nuclei': no_nuclei, 'truncated': truncated, 'ignored_shapes': dict(ignored), 'folds': folds,
            'seconds': elapsed}
