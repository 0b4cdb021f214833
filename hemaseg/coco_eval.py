"""COCO mask and box AP of instance predictions (spec 001 §6.1, spec 004 §6), plain pycocotools.

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

Spec 001 reports AP (mean over IoU 0.50:0.05:0.95), AP50 and AP75 of instance
masks, COCO style (101-point interpolated precision, up to 100 detections per
image); we also give APs/APm/APl and AR@1/10/100, and the same for boxes.

Predictions are the standard COCO results list::

    [{"image_id": 1, "category_id": 1, "score": 0.9,
      "segmentation": {"size": [H, W], "counts": "..."},   # compressed RLE, for 'segm'
      "bbox": [x, y, w, h]},                               # for 'bbox' (else derived from the mask)
     ...]

``tools/infer.py`` and ``tools/det2_infer.py`` know file names, not the annotation file's
ids: their results carry ``"file_name"`` instead of ``"image_id"``. Such a prediction is
given the id of the ground-truth image with that file name (:func:`assign_image_ids`;
names match when one path ends with the other, ``x.png`` ~ ``images/x.png``).
Predictions for files that are not in the ground truth (inference ran on every image,
the ground truth is one split) are left out and counted; if no file name matches at
all, or one matches several images, that is an error. A prediction with both keys
must name the same image with both.

Before pycocotools sees them they are checked, and every problem is reported at
once as a :class:`~hemaseg.data.io.DatasetError`: image ids not in the ground
truth, unknown category ids, missing/non-finite scores, malformed RLE (whose
decoding in pycocotools can write past its buffer), a mask size that is not its
image's size, malformed boxes. An empty list is valid: it scores AP = AR = 0
(and -1, pycocotools' "no ground truth", for area ranges without instances).

Values are fractions in [0, 1] (pycocotools' convention) in the returned dict and
json; :func:`format_table` prints percentages, as in the paper's tables.
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .data.coco_validate import load_json, quiet_coco, rle_problems
from .data.io import DatasetError, PathLike

IOU_TYPES = ('segm', 'bbox')
STAT_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl')
TABLE_NAMES = {'segm': 'mask', 'bbox': 'box'}
MAX_LISTED = 20


def load_ground_truth(path: PathLike, iou_types: Sequence[str] = IOU_TYPES) -> COCO:
    """Index a COCO ground-truth file; fields COCOeval needs for ``iou_types`` but that are missing are errors."""
    data = load_json(path, 'ground-truth file')
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ('images', 'annotations',
                                                                                     'categories')):
        raise DatasetError(f'ground-truth file {path} needs "images", "annotations" and "categories" lists')
    required = ('id', 'image_id', 'category_id', 'area', 'iscrowd') + tuple(
        {'segm': 'segmentation', 'bbox': 'bbox'}[t] for t in iou_types)
    if bad := [a.get('id') for a in data['annotations'] if not isinstance(a, dict) or any(k not in a for k in required)]:
        raise DatasetError(f'ground-truth file {path}: {len(bad)} annotation(s) lack one of {required} '
                           f'(e.g. ids {bad[:10]}); run `coco_instances.py validate` on it')
    try:
        return quiet_coco(data)
    except (KeyError, TypeError) as e:
        raise DatasetError(f'ground-truth file {path} cannot be indexed by pycocotools: {e!r}') from e


def check_predictions(gt: COCO, preds: Any, iou_types: Sequence[str]) -> None:
    """Raise one :class:`DatasetError` listing every problem of a results list (module doc)."""
    if not isinstance(preds, list):
        hint = ' (this looks like a ground-truth file)' if isinstance(preds, dict) and 'annotations' in preds else ''
        raise DatasetError(f'predictions must be a JSON list of results{hint}')
    problems: list[str] = []
    unknown_img, unknown_cat = set(), set()
    has_segm = [isinstance(p, dict) and 'segmentation' in p for p in preds]
    has_bbox = [isinstance(p, dict) and 'bbox' in p for p in preds]
    if 'segm' in iou_types and not all(has_segm):
        problems.append(f'{has_segm.count(False)} of {len(preds)} predictions have no "segmentation", which mask AP '
                        'needs (use --iou-type bbox for box-only results)')
    # pycocotools picks how to read all results from the first one, so a "bbox" must be
    # in all of them or in none (then it is derived from the mask).
    if any(has_bbox) and not all(has_bbox):
        problems.append(f'{has_bbox.count(False)} of {len(preds)} predictions have no "bbox" while others have one')
    elif 'bbox' in iou_types and not all(has_bbox) and not all(has_segm):
        problems.append('box AP needs a "bbox" (or a "segmentation" to derive it from) in every prediction')
    for i, p in enumerate(preds):
        if not isinstance(p, dict):
            problems.append(f'prediction #{i} is not an object')
            continue
        image_id, cat_id = p.get('image_id'), p.get('category_id')
        img = gt.imgs.get(image_id) if isinstance(image_id, int) else None
        if img is None:
            unknown_img.add(repr(image_id))
        if not (isinstance(cat_id, int) and cat_id in gt.cats):
            unknown_cat.add(repr(cat_id))
        score = p.get('score')
        if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
            problems.append(f'prediction #{i} (image {p.get("image_id")!r}): score {score!r} is not a finite number')
        segm = p.get('segmentation')
        if segm is not None:
            if not isinstance(segm, dict) or not isinstance(segm.get('counts'), str):
                problems.append(f'prediction #{i} (image {p.get("image_id")!r}): segmentation must be compressed RLE '
                                '({"size": [h, w], "counts": str}, pycocotools.mask.encode)')
            elif rle_err := rle_problems(segm):
                problems.append(f'prediction #{i} (image {p.get("image_id")!r}): malformed RLE: {rle_err[0]}')
            elif img is not None and segm['size'] != [img['height'], img['width']]:
                problems.append(f'prediction #{i} (image {p["image_id"]!r}): RLE size {segm["size"]} is not the '
                                f'image size [{img["height"]}, {img["width"]}]')
        bbox = p.get('bbox')
        if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4
                                     and all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)
                                     and bbox[2] >= 0 and bbox[3] >= 0):
            problems.append(f'prediction #{i} (image {p.get("image_id")!r}): bbox {bbox!r} is not [x, y, w >= 0, h >= 0]')
    if unknown_img:
        problems.insert(0, f'image ids not in the ground truth: {", ".join(sorted(unknown_img)[:MAX_LISTED])} '
                           f'(ground truth has {len(gt.imgs)} images, ids {min(gt.imgs, default=None)}..'
                           f'{max(gt.imgs, default=None)})')
    if unknown_cat:
        known = ', '.join(f"{c['id']}={c['name']}" for c in gt.cats.values())
        problems.insert(0, f'unknown category ids: {", ".join(sorted(unknown_cat))} (ground truth: {known})')
    if problems:
        shown = problems[:MAX_LISTED] + ([f'… and {len(problems) - MAX_LISTED} more'] if len(problems) > MAX_LISTED
                                         else [])
        raise DatasetError(f'invalid predictions ({len(problems)} problem(s)):\n  ' + '\n  '.join(shown))


def _path_parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.replace('\\', '/').split('/') if p not in ('', '.'))


def _common_suffix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many trailing components two paths share when one ends with the other (else 0)."""
    n = min(len(a), len(b))
    return n if n and a[-n:] == b[-n:] else 0


def assign_image_ids(gt: COCO, preds: list) -> tuple[list, dict[str, Any]]:
    """Key the predictions that name their image by ``file_name`` (module doc); return the
    predictions to evaluate and ``{'keyed_by_file_name': n, 'ignored_predictions': n,
    'ignored_files': [up to MAX_LISTED names]}``. Predictions with an ``image_id`` pass unchanged
    (after a consistency check when they have a ``file_name`` too)."""
    by_base: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for img in gt.dataset['images']:
        parts = _path_parts(str(img.get('file_name', '')))
        if parts:
            by_base.setdefault(parts[-1], []).append((img['id'], parts))

    def lookup(name: str) -> list[int]:
        parts = _path_parts(name)
        scored = [(_common_suffix(parts, g), i) for i, g in by_base.get(parts[-1] if parts else '', [])]
        best = max((n for n, _ in scored), default=0)
        return [i for n, i in scored if best and n == best]

    out, problems, ignored = [], [], {}
    keyed, named = 0, {}  # image id -> the first file name keyed to it
    for k, p in enumerate(preds):
        name = p.get('file_name') if isinstance(p, dict) else None
        if not isinstance(name, str):
            out.append(p)
            continue
        ids = lookup(name)
        if p.get('image_id') is not None:
            if p['image_id'] in gt.imgs and p['image_id'] not in ids:
                problems.append(f'prediction #{k}: image_id {p["image_id"]} is '
                                f'{gt.imgs[p["image_id"]]["file_name"]!r} in the ground truth but the prediction '
                                f'names {name!r}')
            out.append(p)
        elif len(ids) == 1:
            if named.setdefault(ids[0], name) != name:
                problems.append(f'file names {named[ids[0]]!r} and {name!r} both match ground-truth image '
                                f'{gt.imgs[ids[0]]["file_name"]!r}')
                named[ids[0]] = name  # report each pair once
            out.append(dict(p, image_id=ids[0]))
            keyed += 1
        elif ids:
            problems.append(f'file name {name!r} matches {len(ids)} ground-truth images '
                            f'({", ".join(repr(gt.imgs[i]["file_name"]) for i in ids[:5])}); name the folder too '
                            'or give "image_id"')
        else:
            ignored[name] = ignored.get(name, 0) + 1
    if ignored and not keyed:
        examples = ', '.join(repr(img['file_name']) for img in gt.dataset['images'][:3])
        problems.insert(0, f'none of the {len(ignored)} file name(s) of the predictions is in the ground truth '
                           f'(predictions name e.g. {", ".join(map(repr, list(ignored)[:3]))}; the ground truth '
                           f'has {len(gt.imgs)} images, e.g. {examples})')
    if problems:
        shown = problems[:MAX_LISTED] + ([f'… and {len(problems) - MAX_LISTED} more'] if len(problems) > MAX_LISTED
                                         else [])
        raise DatasetError(f'invalid predictions ({len(problems)} problem(s)):\n  ' + '\n  '.join(shown))
    return out, {'keyed_by_file_name': keyed, 'ignored_predictions': sum(ignored.values()),
                 'ignored_files': sorted(ignored)[:MAX_LISTED], 'num_ignored_files': len(ignored)}


def _empty_results(gt: COCO) -> COCO:
    # loadRes cannot take an empty list (it inspects the first result); an index
    # without annotations lets COCOeval itself score "nothing found" as 0.
    return quiet_coco({'images': gt.dataset['images'], 'categories': gt.dataset['categories'], 'annotations': []})


def _per_category(ev: COCOeval, gt: COCO) -> dict[str, dict[str, float]]:
    """AP / AP50 / AP75 per category from COCOeval's precision array [T, R, K, A, M]."""
    precision = ev.eval['precision'][:, :, :, 0, -1]  # area 'all', maxDets 100
    thresholds = ev.params.iouThrs
    out = {}
    for k, cat_id in enumerate(ev.params.catIds):
        def mean(p: np.ndarray) -> float:
            p = p[p > -1]
            return float(p.mean()) if p.size else -1.0
        out[gt.cats[cat_id]['name']] = {
            'AP': mean(precision[:, :, k]),
            'AP50': mean(precision[np.isclose(thresholds, 0.5), :, k]),
            'AP75': mean(precision[np.isclose(thresholds, 0.75), :, k]),
        }
    return out


def evaluate(gt: COCO | PathLike, preds: list | PathLike, iou_types: Sequence[str] = IOU_TYPES) -> dict[str, Any]:
    """COCO metrics per IoU type: ``{'segm': {'AP': …, …, 'per_category': {…}}, 'bbox': …, 'num_predictions': n}``."""
    if not iou_types or set(iou_types) - set(IOU_TYPES):
        raise DatasetError(f'iou types must be from {IOU_TYPES}, got {list(iou_types)}')
    gt = gt if isinstance(gt, COCO) else load_ground_truth(gt, iou_types)
    if not isinstance(preds, list):
        preds = load_json(preds, 'predictions file')
    keying: dict[str, Any] = {}
    if isinstance(preds, list):
        preds, keying = assign_image_ids(gt, preds)
    check_predictions(gt, preds, iou_types)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        # loadRes adds ids/areas to the dicts it is given: keep the caller's list intact
        dt = gt.loadRes(copy.deepcopy(preds)) if preds else _empty_results(gt)
    results: dict[str, Any] = {'num_predictions': len(preds), 'num_images': len(gt.imgs),
                               'num_instances': len(gt.anns), **keying}
    for iou_type in iou_types:
        ev = COCOeval(gt, dt, iouType=iou_type)
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        metrics: dict[str, Any] = {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}
        metrics['per_category'] = _per_category(ev, gt)
        results[iou_type] = metrics
    return results


def format_table(results: dict[str, Any]) -> str:
    """The metrics in % as a text table: AP, AP50, AP75 first (the paper's columns), then the rest."""
    def cell(v: float) -> str:
        return f'{100 * v:.2f}' if v >= 0 else '-'  # -1: no ground truth in that area range

    header = ['', *STAT_NAMES]
    rows = [[TABLE_NAMES[t], *(cell(results[t][n]) for n in STAT_NAMES)] for t in IOU_TYPES if t in results]
    for t in IOU_TYPES:
        if t in results and len(results[t]['per_category']) > 1:
            rows += [[f'{TABLE_NAMES[t]}:{name}', cell(m['AP']), cell(m['AP50']), cell(m['AP75'])]
                     for name, m in results[t]['per_category'].items()]
    widths = [max(len(str(r[i])) for r in [header, *rows] if i < len(r)) for i in range(len(header))]
    lines = [' | '.join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    lines.insert(1, '-+-'.join('-' * w for w in widths))
    note = (f'{results["num_predictions"]} predictions on {results["num_images"]} images '
            f'({results["num_instances"]} ground-truth instances); values in %')
    if not results['num_predictions']:
        note += '; no predictions: AP and AR are 0'
    if results.get('keyed_by_file_name'):
        note += f'\n{results["keyed_by_file_name"]} prediction(s) matched to their image by file name'
    if results.get('ignored_predictions'):
        more = results['num_ignored_files'] - len(results['ignored_files'])
        note += (f'\n{results["ignored_predictions"]} prediction(s) on {results["num_ignored_files"]} file(s) '
                 f'not in the ground truth were left out: {", ".join(results["ignored_files"])}'
                 + (f' … and {more} more' if more > 0 else ''))
    return '\n'.join(lines + [note])


def per_image_scores(gt: COCO | PathLike, preds: list | PathLike, score_thr: float = 0.5) -> list[dict[str, Any]]:
    """One row per ground-truth image, for paired comparisons of two models (``tools/compare.py``):

    * ``mask_AP``: COCO mask AP (IoU 0.50:0.95, 100 detections) of that image alone;
    * ``matched_iou``: the mean over the image's ground-truth instances of the best mask IoU of a
      prediction scoring >= ``score_thr`` (0 for an instance nothing covers);
    * ``num_gt`` and ``num_pred`` (predictions >= ``score_thr``).

    The file name is the row's ``image`` (what pairs two models' rows); images are in GT order.
    """
    from pycocotools import mask as mask_utils
    gt = gt if isinstance(gt, COCO) else load_ground_truth(gt, ('segm',))
    if not isinstance(preds, list):
        preds = load_json(preds, 'predictions file')
    preds, _ = assign_image_ids(gt, preds)
    check_predictions(gt, preds, ('segm',))
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(copy.deepcopy(preds)) if preds else _empty_results(gt)
    rows = []
    for img_id in gt.getImgIds():
        ev = COCOeval(gt, dt, iouType='segm')
        ev.params.imgIds = [img_id]
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        gts = [gt.annToRLE(a) for a in gt.loadAnns(gt.getAnnIds(imgIds=[img_id], iscrowd=False))]
        kept = [d for d in dt.loadAnns(dt.getAnnIds(imgIds=[img_id])) if d['score'] >= score_thr]
        if gts and kept:
            ious = mask_utils.iou([d['segmentation'] for d in kept], gts, [0] * len(gts))
            matched = float(np.asarray(ious).reshape(len(kept), len(gts)).max(axis=0).mean())
        else:
            matched = 0.0 if gts else float('nan')
        rows.append({'image': gt.imgs[img_id]['file_name'], 'mask_AP': max(float(ev.stats[0]), 0.0),
                     'matched_iou': matched, 'num_gt': len(gts), 'num_pred': len(kept)})
    return rows
