"""Checks of a COCO instance-segmentation file against its images (:func:`validate_coco`).

Every problem is collected and reported in one :class:`~hemaseg.data.io.DatasetError`
that names the image file (and annotation id) it concerns, so a bad file is fixed in
one pass instead of failing inside a training data loader. :class:`~hemaseg.data.coco_writer.CocoWriter`
runs the same checks on every file it writes; the COCO importer and the evaluator use
the loading and segmentation checks on foreign files.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from .io import DatasetError, PathLike, read_image
from .rle import decode_rle_counts, segmentation_to_rle

MAX_LISTED = 50  # problems listed in one error message
BOUNDS_TOLERANCE = 1.0  # px a polygon/bbox may exceed the image (float rounding of foreign files)
BBOX_TOLERANCE = 2.0  # px between a bbox and its segmentation's box (polygon extent vs. rasterised)


def quiet_coco(dataset: dict) -> COCO:
    """A pycocotools ``COCO`` index over an already loaded dict, without its progress prints."""
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_json(path: PathLike, what: str) -> Any:
    """Parse a JSON file; unreadable or invalid JSON is a :class:`DatasetError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{what} {path} does not exist')
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f'{what} {path} is not readable JSON: {e}') from e


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_structure(data: Any) -> list[str]:
    """Problems that keep the file from being indexed or checked further (types, ids, fields)."""
    if not isinstance(data, dict):
        return ['top level is not a JSON object']
    problems = [f'"{key}" is missing or not a list' for key in ('images', 'annotations', 'categories')
                if not isinstance(data.get(key), list)]
    if problems:
        return problems
    for key in ('images', 'annotations', 'categories'):
        if bad := sum(not (isinstance(e, dict) and _is_int(e.get('id'))) for e in data[key]):
            problems.append(f'{bad} {key} entries are not objects with an integer "id"')
    if problems:
        return problems
    for img in data['images']:
        if not (isinstance(img.get('file_name'), str) and _is_int(img.get('width')) and _is_int(img.get('height'))
                and img['width'] > 0 and img['height'] > 0):
            problems.append(f'image id {img["id"]} needs a "file_name" and positive integer "width"/"height"')
    problems += [f'category id {c["id"]} has no "name"' for c in data['categories']
                 if not isinstance(c.get('name'), str)]
    return problems


def _duplicates(data: dict) -> list[str]:
    problems = []
    for key in ('images', 'annotations', 'categories'):
        if dup := sorted(i for i, n in Counter(e['id'] for e in data[key]).items() if n > 1):
            problems.append(f'duplicate {key} ids: {dup[:20]}')
    if dup := sorted(n for n, c in Counter(img['file_name'] for img in data['images']).items() if c > 1):
        problems.append(f'duplicate image file names: {dup[:20]}')
    return problems


def rle_problems(rle: dict) -> list[str]:
    """Why ``rle`` is not a well-formed RLE of its ``size``; empty list if it is.

    Checked without pycocotools' decoder, which writes past its buffer when the run
    lengths of a corrupt string add up to more than ``h * w``.
    """
    size = rle.get('size')
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) and v >= 0 for v in size)):
        return [f'RLE size {size!r} is not [height, width]']
    counts = rle.get('counts')
    if isinstance(counts, list):
        if not all(_is_int(v) and v >= 0 for v in counts):
            return ['uncompressed RLE counts must be non-negative integers']
        runs = counts
    elif isinstance(counts, str):
        runs = decode_rle_counts(counts)
        if runs is None:
            return ['compressed RLE counts string is malformed']
    else:
        return [f'RLE counts of type {type(counts).__name__} (expected str or list)']
    if sum(runs) != size[0] * size[1]:
        return [f'RLE runs cover {sum(runs)} pixels but size {size} has {size[0] * size[1]}']
    return []


def segmentation_problems(segm: Any, height: int, width: int, bounds_tolerance: float) -> list[str]:
    """Why ``segm`` is not a usable polygon list or RLE of a ``width`` x ``height`` image."""
    if isinstance(segm, dict):
        problems = rle_problems(segm)
        if not problems and segm['size'] != [height, width]:
            problems.append(f'RLE size {segm["size"]} differs from the image size [{height}, {width}] (HxW)')
        return problems
    if not isinstance(segm, list):
        return ['"segmentation" is missing or neither polygons nor RLE']
    if not segm:
        return ['empty polygon list']
    problems = []
    for k, poly in enumerate(segm):
        if not isinstance(poly, list) or not all(_is_num(v) for v in poly) or len(poly) % 2:
            problems.append(f'polygon {k} is not a flat list of x, y numbers')
        elif len(poly) < 6:
            problems.append(f'polygon {k} has {len(poly)} coordinates (< 6, fewer than 3 points)')
        else:
            xs, ys = poly[0::2], poly[1::2]
            if (min(xs) < -bounds_tolerance or min(ys) < -bounds_tolerance
                    or max(xs) > width + bounds_tolerance or max(ys) > height + bounds_tolerance):
                problems.append(f'polygon {k} spans x {min(xs):g}..{max(xs):g}, y {min(ys):g}..{max(ys):g}, '
                                f'outside the {width}x{height} image')
    return problems


def _check_annotation(ann: dict, img: dict, bounds_tolerance: float, bbox_tolerance: float) -> list[str]:
    """Problems of one annotation whose image and category exist."""
    h, w = img['height'], img['width']
    where = f'image {img["file_name"]}: annotation {ann["id"]}'
    segm = ann.get('segmentation')
    problems = [f'{where}: {p}' for p in segmentation_problems(segm, h, w, bounds_tolerance)]
    if ann.get('iscrowd') not in (0, 1):  # COCOeval reads it, so it must be present
        problems.append(f'{where}: iscrowd is {ann.get("iscrowd")!r}, expected 0 or 1')
    if not _is_num(ann.get('area')) or ann['area'] <= 0:
        problems.append(f'{where}: area is {ann.get("area")!r}, expected > 0')
    bbox = ann.get('bbox')
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_num(v) for v in bbox)):
        problems.append(f'{where}: bbox {bbox!r} is not [x, y, w, h]')
    elif bbox[2] <= 0 or bbox[3] <= 0:
        problems.append(f'{where}: bbox {bbox} has no extent')
    elif (bbox[0] < -bounds_tolerance or bbox[1] < -bounds_tolerance or bbox[0] + bbox[2] > w + bounds_tolerance
          or bbox[1] + bbox[3] > h + bounds_tolerance):
        problems.append(f'{where}: bbox {bbox} extends outside the {w}x{h} image')
    if problems:
        return problems
    rle = segmentation_to_rle(segm, h, w)
    if float(mask_utils.area(rle)) <= 0:
        return [f'{where}: segmentation covers no pixel']
    seg_box = mask_utils.toBbox(rle)
    corners = np.array([bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]])
    seg_corners = np.array([seg_box[0], seg_box[1], seg_box[0] + seg_box[2], seg_box[1] + seg_box[3]])
    if np.abs(corners - seg_corners).max() > bbox_tolerance:
        problems.append(f'{where}: bbox {[round(v, 2) for v in bbox]} does not match the segmentation\'s box '
                        f'{[round(float(v), 2) for v in seg_box]} (tolerance {bbox_tolerance} px)')
    return problems


def _image_size(path: Path, cache: dict[Path, tuple[int, int]]) -> tuple[int, int]:
    if path not in cache:
        cache[path] = read_image(path).shape[:2]
    return cache[path]


def check_coco_data(data: Any, json_path: PathLike, image_root: PathLike, *,
                    bounds_tolerance: float = BOUNDS_TOLERANCE, bbox_tolerance: float = BBOX_TOLERANCE,
                    size_cache: dict[Path, tuple[int, int]] | None = None) -> dict:
    """:func:`validate_coco` on an already loaded ``data`` (``json_path`` only names it in messages).

    ``size_cache`` keeps the image sizes read, for checking several files over the same images.
    """
    size_cache = {} if size_cache is None else size_cache
    if problems := _check_structure(data):
        raise DatasetError(f'invalid COCO file {json_path}:\n  ' + '\n  '.join(problems))
    problems = _duplicates(data)
    coco = quiet_coco(data)  # pycocotools must be able to index what we hand to the models
    for img in data['images']:
        path = Path(image_root) / img['file_name']
        try:
            hw = _image_size(path, size_cache)
        except DatasetError as e:
            problems.append(f'image {img["file_name"]}: {e}')
            continue
        if hw != (img['height'], img['width']):
            problems.append(f'image {img["file_name"]}: file is {hw[1]}x{hw[0]} but the json says '
                            f'{img["width"]}x{img["height"]} (WxH)')
    for ann in data['annotations']:
        img = coco.imgs.get(ann.get('image_id')) if _is_int(ann.get('image_id')) else None
        if img is None:
            problems.append(f'annotation {ann["id"]}: image_id {ann.get("image_id")!r} is not an image id')
            continue
        if not (_is_int(ann.get('category_id')) and ann['category_id'] in coco.cats):
            problems.append(f'image {img["file_name"]}: annotation {ann["id"]}: category_id '
                            f'{ann.get("category_id")!r} is not a category id')
        problems += _check_annotation(ann, img, bounds_tolerance, bbox_tolerance)
    if problems:
        shown = problems[:MAX_LISTED] + ([f'… and {len(problems) - MAX_LISTED} more'] if len(problems) > MAX_LISTED
                                         else [])
        raise DatasetError(f'invalid COCO file {json_path} ({len(problems)} problem(s)):\n  ' + '\n  '.join(shown))
    cat_names = {c['id']: c['name'] for c in data['categories']}
    per_cat = Counter(cat_names[a['category_id']] for a in data['annotations'])
    return {'images': len(data['images']), 'annotations': len(data['annotations']),
            'per_category': {name: per_cat.get(name, 0) for name in cat_names.values()}}


def validate_coco(json_path: PathLike, image_root: PathLike, bounds_tolerance: float = BOUNDS_TOLERANCE,
                  bbox_tolerance: float = BBOX_TOLERANCE) -> dict:
    """Check a COCO instance-segmentation file against its images; return counts.

    Checks: the file is indexed by pycocotools; unique image/annotation/category ids
    and file names; every image file exists under ``image_root`` and its real size
    equals width/height; every annotation's image_id and category_id exist; polygons
    have >= 6 coordinates and lie within the image (``bounds_tolerance`` px); RLE
    counts are well formed and cover the image; bbox is inside the image and within
    ``bbox_tolerance`` px of the segmentation's box; area > 0. All problems are
    collected and raised as one :class:`DatasetError` naming the image files.
    """
    return check_coco_data(load_json(json_path, 'COCO file'), Path(json_path), image_root,
                           bounds_tolerance=bounds_tolerance, bbox_tolerance=bbox_tolerance)
