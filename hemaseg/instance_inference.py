"""Framework-free part of inference on image files (instance segmentation; image reading for both).

``tools/infer.py`` (mmdet configs) and ``tools/det2_infer.py`` (Detectron2 configs) only
provide a ``predict(rgb) -> InstancePrediction`` function; this module reads the images,
reports progress and failures, and writes for every image

* ``overlays/<name>.png``: the image with each kept instance's contour (yellow) and score,
* ``instances/<name>.png``: a 16-bit instance-id map (0 background, 1.. by decreasing score;
  where masks overlap, the higher-scoring instance wins),

plus ``predictions.json``: every kept instance as a COCO-style result (``file_name``, RLE
``segmentation``, ``bbox`` xywh, ``score``, ``category_id`` = label + 1). There is no
``image_id`` (no annotation file is read here): ``tools/coco_eval.py`` finds each
prediction's image in the ground truth by ``file_name``.

``<name>`` is the input's file stem, unless several inputs share a stem (``a/x.png`` and
``b/x.png``): those are named by their path relative to their common folder (``a/x``,
``b/x``, so ``overlays/a/x.png``), and ``file_name`` is that relative path too; see
:func:`output_names`. Nothing is overwritten.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from .data.annotations import IMAGE_EXTS  # defined once there; the tools also import it from here
from .data.io import DatasetError, read_image, write_image
from .data.rle import mask_to_rle
from .viz import PRED_COLOR, _as_rgb


@dataclass
class InstancePrediction:
    """Instances of one image at its original size: ``masks`` (N, H, W) bool, ``boxes`` (N, 4)
    x1y1x2y2, ``scores`` (N,), ``labels`` (N,) 0-based."""
    masks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def keep(self, score_threshold: float) -> InstancePrediction:
        order = np.argsort(-self.scores, kind='stable')
        order = order[self.scores[order] >= score_threshold]
        return InstancePrediction(self.masks[order].astype(bool), self.boxes[order], self.scores[order],
                                  self.labels[order])


def collect_images(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Image files named directly or found (non-recursively) in folders; and the paths that do not exist."""
    files, missing = [], []
    for p in paths:
        if osp.isdir(p):
            files += sorted(osp.join(p, f) for f in os.listdir(p) if f.lower().endswith(IMAGE_EXTS))
        elif osp.isfile(p):
            files.append(p)
        else:
            missing.append(p)
    return files, missing


def output_names(files: Sequence[str]) -> list[tuple[str, str]]:
    """A distinct ``(output name, file_name)`` for each input, in order.

    The output name is the file stem (``x`` for ``in/x.png``) and ``file_name`` the base
    name (``x.png``), unless several inputs share a stem (compared case-insensitively, as
    some file systems do): those get their path relative to the common folder of the
    group, without extension (``a/x``, ``b/x``) and with it (``a/x.png``, ``b/x.png``).
    A name still taken (the same file twice, ``x.png`` next to ``x.jpg``) gets ``__2``,
    ``__3``, ... appended to the output name.
    """
    stems = [osp.splitext(osp.basename(f))[0] for f in files]
    groups: dict[str, list[int]] = {}
    for i, stem in enumerate(stems):
        groups.setdefault(stem.lower(), []).append(i)
    names = [(stem, osp.basename(f)) for stem, f in zip(stems, files)]
    for members in groups.values():
        if len(members) < 2:
            continue
        parent = osp.commonpath([osp.dirname(osp.abspath(files[i])) for i in members])
        for i in members:
            rel = osp.relpath(osp.abspath(files[i]), parent).replace(os.sep, '/')
            names[i] = (osp.splitext(rel)[0], rel)
    taken: set[str] = set()
    unique = []
    for name, file_name in names:
        candidate, k = name, 1
        while candidate.lower() in taken:
            k += 1
            candidate = f'{name}__{k}'
        taken.add(candidate.lower())
        unique.append((candidate, file_name))
    return unique


def describe_renames(files: Sequence[str], names: Sequence[tuple[str, str]]) -> list[str]:
    """Log lines for the inputs whose outputs are not simply named by their stem (empty when none)."""
    renamed = [(f, n) for f, (n, _) in zip(files, names) if n != osp.splitext(osp.basename(f))[0]]
    if not renamed:
        return []
    return [f'{len(renamed)} input(s) share a file stem with another input; their outputs are named:'] + [
        f'  {f} -> {n}.png' for f, n in renamed]


def read_images(files: Sequence[str], failed: list[tuple[str, str]]):
    """Yield ``(index from 1, path, RGB image)``; unreadable files go to ``failed`` as ``(path, reason)``."""
    for i, path in enumerate(files, 1):
        try:
            rgb = read_image(path)
        except DatasetError as e:
            failed.append((path, str(e)))
            continue
        yield i, path, rgb


def draw_instance_overlay(image_rgb: np.ndarray, pred: InstancePrediction, color=PRED_COLOR,
                          thickness: int | None = None) -> np.ndarray:
    """Contours of every instance with its score at the top-left of its box."""
    canvas = _as_rgb(image_rgb)
    h, w = canvas.shape[:2]
    t = thickness or max(1, round(min(h, w) / 150))
    scale = max(0.3, min(h, w) / 600)
    for mask, box, score in zip(pred.masks, pred.boxes, pred.scores):
        if mask.shape != (h, w):
            raise ValueError(f'mask shape {mask.shape} does not match image shape {(h, w)}')
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, color, t, lineType=cv2.LINE_8)
        x, y = int(max(box[0], 0)), int(max(box[1], 0))
        text = f'{score:.2f}'
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        y = max(y, th + base)
        cv2.rectangle(canvas, (x, y - th - base), (x + tw + 2, y), (0, 0, 0), -1)
        cv2.putText(canvas, text, (x + 1, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return canvas


def instance_id_map(pred: InstancePrediction, shape: tuple[int, int]) -> np.ndarray:
    """uint16 map: 0 background, i + 1 for the i-th instance (by decreasing score); higher score wins."""
    ids = np.zeros(shape, np.uint16)
    for i in range(len(pred.scores) - 1, -1, -1):  # lowest score first, so higher scores overwrite
        ids[pred.masks[i]] = i + 1
    return ids


def coco_results(file_name: str, pred: InstancePrediction) -> list[dict]:
    """COCO-style results of one image (module doc); ``segmentation`` is JSON-ready compressed RLE."""
    out = []
    for mask, box, score, label in zip(pred.masks, pred.boxes, pred.scores, pred.labels):
        x1, y1, x2, y2 = (float(v) for v in box)
        out.append({'file_name': file_name, 'category_id': int(label) + 1, 'score': float(score),
                    'bbox': [x1, y1, x2 - x1, y2 - y1], 'segmentation': mask_to_rle(mask)})
    return out


def run_instance_inference(files: Sequence[str], predict: Callable[[np.ndarray], InstancePrediction], out: str,
                           score_threshold: float = 0.3, failed: list | None = None,
                           log: Callable[[str], None] = print) -> tuple[int, list[tuple[str, str]]]:
    """Predict every file and write the outputs listed in the module docstring.

    Returns ``(images written, [(path, reason), ...] failures)``; unreadable images are
    failures, never skipped silently.
    """
    failed = list(failed or [])
    results, written = [], 0
    os.makedirs(osp.join(out, 'overlays'), exist_ok=True)
    os.makedirs(osp.join(out, 'instances'), exist_ok=True)
    names = output_names(files)
    for line in describe_renames(files, names):
        log(line)
    for i, path, rgb in read_images(files, failed):
        pred = predict(rgb).keep(score_threshold)
        name, file_name = names[i - 1]
        write_image(osp.join(out, 'overlays', f'{name}.png'), draw_instance_overlay(rgb, pred))
        ids_path = osp.join(out, 'instances', f'{name}.png')
        os.makedirs(osp.dirname(ids_path), exist_ok=True)
        if not cv2.imwrite(ids_path, instance_id_map(pred, rgb.shape[:2])):
            raise OSError(f'could not write {ids_path}')
        results += coco_results(file_name, pred)
        written += 1
        best = f', best score {pred.scores[0]:.2f}' if len(pred.scores) else ''
        log(f'[{i}/{len(files)}] {path} -> {name}.png: {len(pred.scores)} instance(s) with score >= '
            f'{score_threshold}{best}')
    with open(osp.join(out, 'predictions.json'), 'w') as f:
        json.dump(results, f)
    log(f'{written} image(s) written to {out} ({len(results)} instances in predictions.json)')
    return written, failed


def report_failures(failed: Sequence[tuple[str, str]]) -> None:
    """List the inputs that failed on stderr and exit with status 1 (nothing when none failed)."""
    if failed:
        print(f'{len(failed)} input(s) failed:', file=sys.stderr)
        for path, why in failed:
            print(f'  {path}: {why}', file=sys.stderr)
        sys.exit(1)
