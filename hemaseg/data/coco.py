"""COCO instance-segmentation files: mask encoding, writing and validation.

The instance models of spec 001 (DSFF/DDAM YOLACT, §5-6) and spec 004 (refined
Mask R-CNN, §5-6) are trained and scored with COCO-style mask AP, so every
instance dataset of the project is exported as COCO json by :class:`CocoWriter`::

    <out>/images/<stem>.png                            RGB image (BGR on disk, as cv2 writes it)
    <out>/annotations/all.json                         every image
    <out>/annotations/fold{0,1,2}_{train,val,test}.json  6:2:2 x 3 folds (hemaseg.data.splits)
    <out>/meta.json                                    dataset, categories, options, counts per split,
                                                       groups / strata / source files / notes per stem

Image and annotation ids are the same in all files (ids of ``all.json``; a fold
file is a subset), so predictions on any split can be scored against either.
``file_name`` is ``<stem>.png`` relative to ``<out>/images``.

Segmentations (``segm_format``):

* ``'polygon'``: exact outlines. A contour traced through boundary pixel *centres*
  (plain ``cv2.findContours``) loses half a pixel all round once pycocotools
  rasterises it (pixel ``i`` covers ``[i, i+1)``), which costs ~12 % IoU on a
  20-pixel cell. We trace the mask upsampled 2x and map sub-pixel ``c`` to the
  pixel corner ``ceil(c / 2)``, which gives the outline along pixel edges:
  decoding it gives back the mask exactly. A mask with holes cannot be written as
  COCO polygons (they are filled, not subtracted), so it is written as RLE and the
  fallback is reported.
* ``'rle'``: compressed RLE (``pycocotools.mask.encode``), always exact.

``bbox`` and ``area`` are computed from the written segmentation (pycocotools), so
they agree with what the evaluator decodes.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from .io import DatasetError, PathLike, read_image, write_image
from .layout import prepare_output_dir
from .sn_am import safe_stem
from .splits import INCOMPLETE, NUM_FOLDS, SPLIT_NAMES, make_folds

SEGM_FORMATS = ('polygon', 'rle')
Segmentation = Union[list[list[float]], list[list[int]], dict]
MAX_LISTED = 50  # problems listed in one error message
BOUNDS_TOLERANCE = 1.0  # px a polygon/bbox may exceed the image (float rounding of foreign files)
BBOX_TOLERANCE = 2.0  # px between a bbox and its segmentation's box (polygon extent vs. rasterised)


@dataclass
class Encoded:
    """One instance ready for a COCO annotation; ``notes`` say what was changed (RLE fallback)."""

    segmentation: Segmentation
    bbox: list[float]
    area: float
    notes: list[str] = field(default_factory=list)


def mask_to_polygons(mask: np.ndarray) -> tuple[list[list[int]], bool]:
    """Pixel-edge outlines of the 8-connected components of ``mask`` (see module doc).

    Returns ``(polygons, has_holes)``: flat ``[x0, y0, x1, y1, ...]`` lists of pixel
    corners, and whether any component has a hole (which polygons cannot represent).
    An outline encloses at least one whole pixel, so no polygon is degenerate (the
    < 3 points / zero-area pieces that pixel-centre contours give for 1-2 pixel
    blobs cannot occur, and nothing is dropped).
    """
    up = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    polygons: list[list[int]] = []
    has_holes = False
    for k, contour in enumerate(contours):
        if hierarchy[0, k, 3] != -1:  # RETR_CCOMP: a contour with a parent is a hole
            has_holes = True
            continue
        pts = (contour.reshape(-1, 2).astype(np.int64) + 1) // 2
        pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]  # the mapping repeats corners
        # Drop points in the middle of a straight run (same direction in and out).
        d_in, d_out = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
        cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
        pts = pts[(cross != 0) | ((d_in * d_out).sum(axis=1) <= 0)]
        polygons.append(pts.ravel().tolist())  # integer pixel corners: exact and compact
    return polygons, has_holes


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed RLE of a boolean HxW mask, JSON-ready (``counts`` as str)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(v) for v in rle['size']], 'counts': rle['counts'].decode('ascii')}


def segmentation_to_rle(segm: Segmentation, height: int, width: int) -> dict:
    """pycocotools RLE (``counts`` as bytes) of a polygon list or an uncompressed or compressed (str) RLE."""
    if isinstance(segm, list):
        return mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    if isinstance(segm.get('counts'), list):
        return mask_utils.frPyObjects(segm, height, width)
    return {'size': segm['size'], 'counts': segm['counts'].encode('ascii')}


def encode_mask(mask: np.ndarray, segm_format: str = 'polygon') -> Encoded:
    """Encode a non-empty boolean HxW mask as a COCO segmentation with its bbox and area."""
    if segm_format not in SEGM_FORMATS:
        raise ValueError(f'segm_format must be one of {SEGM_FORMATS}, got {segm_format!r}')
    mask = mask.astype(bool)
    if not mask.any():
        raise ValueError('cannot encode an empty mask')
    h, w = mask.shape
    notes: list[str] = []
    segm: Segmentation
    if segm_format == 'polygon':
        polygons, has_holes = mask_to_polygons(mask)
        if has_holes:
            notes.append('mask has holes; written as RLE')
            segm = mask_to_rle(mask)
        else:
            segm = polygons
    else:
        segm = mask_to_rle(mask)
    rle = segmentation_to_rle(segm, h, w)
    return Encoded(segm, [float(v) for v in mask_utils.toBbox(rle)], float(mask_utils.area(rle)), notes)


# --------------------------------------------------------------------------- validation

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
    problems += [f'category id {c["id"]} has no "name"' for c in data['categories'] if not isinstance(c.get('name'), str)]
    return problems


def _duplicates(data: dict) -> list[str]:
    problems = []
    for key in ('images', 'annotations', 'categories'):
        if dup := sorted(i for i, n in Counter(e['id'] for e in data[key]).items() if n > 1):
            problems.append(f'duplicate {key} ids: {dup[:20]}')
    if dup := sorted(n for n, c in Counter(img['file_name'] for img in data['images']).items() if c > 1):
        problems.append(f'duplicate image file names: {dup[:20]}')
    return problems


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
        runs = _decode_rle_string(counts)
        if runs is None:
            return ['compressed RLE counts string is malformed']
    else:
        return [f'RLE counts of type {type(counts).__name__} (expected str or list)']
    if sum(runs) != size[0] * size[1]:
        return [f'RLE runs cover {sum(runs)} pixels but size {size} has {size[0] * size[1]}']
    return []


def _decode_rle_string(s: str) -> list[int] | None:
    """Run lengths of COCO's compressed RLE string, or None if it is malformed.

    Format (pycocotools ``maskApi.c``): each count is written in 5-bit groups, least
    significant first, as chars ``48 + group`` with 0x20 meaning "more groups follow"
    and 0x10 in the last group the sign; from the fourth count on, the value is a
    difference to the count two places before.
    """
    runs: list[int] = []
    pos = 0
    while pos < len(s):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(s):
                return None
            c = ord(s[pos]) - 48
            if not 0 <= c < 64:
                return None
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value -= 1 << shift
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            return None
        runs.append(value)
    return runs


def _image_size(path: Path, cache: dict[Path, tuple[int, int]]) -> tuple[int, int]:
    if path not in cache:
        cache[path] = read_image(path).shape[:2]
    return cache[path]


def _validate(data: Any, json_path: Path, image_root: Path, bounds_tolerance: float, bbox_tolerance: float,
              size_cache: dict[Path, tuple[int, int]]) -> dict:
    if problems := _check_structure(data):
        raise DatasetError(f'invalid COCO file {json_path}:\n  ' + '\n  '.join(problems))
    problems = _duplicates(data)
    coco = quiet_coco(data)  # pycocotools must be able to index what we hand to the models
    for img in data['images']:
        path = image_root / img['file_name']
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
    json_path = Path(json_path)
    return _validate(load_json(json_path, 'COCO file'), json_path, Path(image_root), bounds_tolerance,
                     bbox_tolerance, {})


# --------------------------------------------------------------------------- writing

@dataclass
class _Record:
    stem: str
    width: int
    height: int
    instances: list[tuple[str, Encoded]]


class CocoWriter:
    """Writes images and, on :meth:`finalize`, the COCO files and meta.json (layout: module doc).

    ``categories``: the category names in id order (ids 1..K); ``None`` collects them
    from the added instances and numbers them alphabetically. ``out`` must be absent,
    empty or an earlier output of a converter (then its images/, annotations/ and
    meta.json are replaced); the ``.incomplete`` marker exists until finalize ends.
    """

    def __init__(self, out: PathLike, *, categories: Sequence[str] | None, dataset: str, converter: str,
                 source: str, options: Mapping[str, Any], seed: int = 0, segm_format: str = 'polygon',
                 log: Callable[[str], None] = print) -> None:
        if segm_format not in SEGM_FORMATS:
            raise DatasetError(f'segm_format must be one of {SEGM_FORMATS}, got {segm_format!r}')
        if categories is not None and (not categories or len(set(categories)) != len(categories)):
            raise DatasetError(f'categories must be distinct names, got {list(categories)}')
        self.out = Path(out)
        self.categories = list(categories) if categories is not None else None
        self.dataset, self.converter, self.source = dataset, converter, source
        self.options, self.seed, self.segm_format, self.log = dict(options), seed, segm_format, log
        self.records: list[_Record] = []
        self.groups: dict[str, str] = {}
        self.strata: dict[str, str] = {}
        self.source_files: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {}
        self.extra_meta: dict[str, Any] = {}
        self._prepare()

    def _prepare(self) -> None:
        prepare_output_dir(self.out, replaced=('images', 'annotations'), created=('images',))

    def add(self, stem: str, image_rgb: np.ndarray, instances: Sequence[tuple[str, np.ndarray]], *,
            group: str | None = None, stratum: str | None = None, source_file: str | None = None,
            notes: Sequence[str] = ()) -> None:
        """Write ``images/<stem>.png`` and encode its ``(category, HxW bool mask)`` instances.

        Empty masks are skipped with a note; ``notes`` from the converter are stored in
        meta.json next to the encoder's own (RLE fallback for masks with holes).
        """
        if safe_stem(stem) != stem:
            raise DatasetError(f'stem {stem!r} is not a safe file name ([A-Za-z0-9._-], no leading dot)')
        if stem in self.source_files:
            raise DatasetError(f'duplicate stem {stem!r}')
        h, w = image_rgb.shape[:2]
        encoded: list[tuple[str, Encoded]] = []
        all_notes = list(notes)
        for k, (category, mask) in enumerate(instances):
            if self.categories is not None and category not in self.categories:
                raise DatasetError(f'{stem}: unknown category {category!r} (known: {self.categories})')
            if mask.shape != (h, w):
                raise DatasetError(f'{stem}: instance {k} mask is {mask.shape}, image is {(h, w)}')
            if not mask.any():
                all_notes.append(f'instance {k} ({category}) is empty; skipped')
                continue
            enc = encode_mask(mask, self.segm_format)
            all_notes += [f'instance {k} ({category}): {n}' for n in enc.notes]
            encoded.append((category, enc))
        write_image(self.out / 'images' / f'{stem}.png', image_rgb)
        self.records.append(_Record(stem, w, h, encoded))
        if group is not None:
            self.groups[stem] = str(group)
        if stratum is not None:
            self.strata[stem] = str(stratum)
        self.source_files[stem] = source_file or ''
        if all_notes:
            self.notes[stem] = all_notes
            for n in all_notes:
                self.log(f'  {stem}: {n}')

    def finalize(self) -> dict:
        """Make the folds, write and validate every json, write meta.json; return a summary."""
        if not self.records:
            raise DatasetError('no images to write')
        stems = [r.stem for r in self.records]
        for name, mapping in (('group', self.groups), ('stratum', self.strata)):
            if mapping and len(mapping) != len(stems):
                raise ValueError(f'every image or none must have a {name}')
        folds = make_folds(stems, seed=self.seed, groups=self.groups or None, strata=self.strata or None)
        categories = self.categories or sorted({c for r in self.records for c, _ in r.instances})
        if not categories:
            raise DatasetError('no instance in any image')
        cat_id = {name: i for i, name in enumerate(categories, 1)}
        images, anns_of = [], {}
        ann_id = 0
        for img_id, rec in enumerate(sorted(self.records, key=lambda r: r.stem), 1):
            images.append({'id': img_id, 'file_name': f'{rec.stem}.png', 'width': rec.width, 'height': rec.height})
            anns_of[rec.stem] = []
            for category, enc in rec.instances:
                ann_id += 1
                anns_of[rec.stem].append({'id': ann_id, 'image_id': img_id, 'category_id': cat_id[category],
                                          'segmentation': enc.segmentation, 'area': enc.area, 'bbox': enc.bbox,
                                          'iscrowd': 0})
        cats = [{'id': i, 'name': name, 'supercategory': 'cell'} for name, i in cat_id.items()]
        info = {'description': f'{self.dataset} (hemaseg converter {self.converter})', 'version': '1.0'}

        def subset(keep: set[str]) -> dict:
            imgs = [im for im in images if im['file_name'][:-4] in keep]
            return {'info': info, 'licenses': [], 'images': imgs, 'categories': cats,
                    'annotations': [a for im in imgs for a in anns_of[im['file_name'][:-4]]]}

        ann_dir = self.out / 'annotations'
        ann_dir.mkdir(parents=True, exist_ok=True)
        sizes: dict[Path, tuple[int, int]] = {}
        files = {'all': (subset(set(stems)), ann_dir / 'all.json')}
        for k, fold in enumerate(folds):
            for split in SPLIT_NAMES:
                files[f'fold{k}_{split}'] = (subset(set(fold[split])), ann_dir / f'fold{k}_{split}.json')
        counts = {}
        for key, (data, path) in files.items():
            _write_json(path, data)
            counts[key] = _validate(data, path, self.out / 'images', BOUNDS_TOLERANCE, BBOX_TOLERANCE, sizes)

        summary = {'num_images': len(stems), 'categories': categories, 'instances': counts['all']['per_category'],
                   'splits': [{split: {'images': counts[f'fold{k}_{split}']['images'],
                                       'instances': counts[f'fold{k}_{split}']['per_category']}
                               for split in SPLIT_NAMES} for k in range(len(folds))],
                   'notes': dict(sorted(self.notes.items())), 'folds': folds}
        meta = {'dataset': self.dataset, 'task': 'instance segmentation (COCO)', 'categories': categories,
                'segm_format': self.segm_format, 'num_images': len(stems),
                'num_instances': summary['instances'], 'folds': NUM_FOLDS, 'splits': summary['splits'],
                'source': self.source, 'converter': self.converter, 'options': self.options,
                **self.extra_meta, 'notes': summary['notes']}
        for key, mapping in (('groups', self.groups), ('strata', self.strata), ('source_files', self.source_files)):
            if any(mapping.values()):
                meta[key] = dict(sorted(mapping.items()))
        _write_json(self.out / 'meta.json', meta, indent=2)
        (self.out / INCOMPLETE).unlink()
        for line in summary_lines(summary):
            self.log('  ' + line)
        return summary


def _write_json(path: Path, data: Any, indent: int | None = None) -> None:
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        json.dump(data, f, indent=indent)
        f.write('\n')


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """Human-readable lines: images and instances per category, overall and per split."""
    def cats(counts: Mapping[str, int]) -> str:
        return ', '.join(f'{name} {n}' for name, n in counts.items())

    lines = [f'{summary["num_images"]} images; instances: {cats(summary["instances"])}']
    for k, fold in enumerate(summary['splits']):
        lines.append(f'fold{k}: ' + ' | '.join(f'{split} {c["images"]} img ({cats(c["instances"])})'
                                               for split, c in fold.items()))
    return lines
