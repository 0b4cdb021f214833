"""Classify the cells an instance-segmentation model found (DeepBCSDnet's last stage, spec 004 §2.3).

Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

DeepBCSDnet segments bone-marrow images with R-Mask R-CNN, then a DCNN "classif[ies] the segmented
features into blood cancer types such as ALL, MM" (spec 004 §2.0 step 8); the classification is
image-level and binary (§2.3). What the DCNN receives is not stated (§2.3: "segmented image, masked
image, cropped cells or feature vector"). Two readings, both framework-free here
(``tools/classify_instances.py`` adds the MMDetection / MMPretrain models):

* ``mask`` (default, the "segmented image"): ONE classifier input per image, the whole image with
  every pixel outside the union of the detected cells' masks set to 0 (black), as the
  ``MaskOutsideNucleus`` transform does to the training images (:func:`mask_outside`). The image's
  scores are that input's class probabilities; there is nothing to aggregate.
* ``crop``: one input per detected cell, the image inside the cell's box (:func:`box_window`:
  float box -> the whole pixels it touches, clipped to the image; never empty), classified
  separately; the cells' probabilities are then aggregated into the image's scores
  (:func:`aggregate`).

Aggregations (not in the paper; ours):

* ``mean``: the mean of the cells' class probabilities (a probability vector);
* ``max``: per class, the largest probability any cell gives it ("the image is class c if one
  cell is clearly c"); the scores need not sum to 1;
* ``vote``: per class, the share of cells whose most probable class it is; a tie between classes
  is broken by the mean probability, then by the lower class index.

The predicted class is the highest score (``argmax``; equal scores go to the lower index). An
image with no detection above the score threshold gets no scores and the prediction
:data:`NO_CELL`.
"""
from __future__ import annotations

import csv
import math
import os
import os.path as osp
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .instance_inference import InstancePrediction
from .viz import _as_rgb

MODES = ('mask', 'crop')
AGGREGATIONS = ('mean', 'max', 'vote')
NO_CELL = 'no cell'
# Contour colours (RGB) of classes 0, 1, 2, ...: class 0 orange, class 1 cyan, then others.
CLASS_COLORS = ((255, 128, 0), (0, 220, 255), (80, 255, 80), (255, 80, 255), (255, 255, 0), (160, 120, 255))
NO_CELL_COLOR = (200, 200, 200)


def union_mask(masks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """HxW bool: pixels inside any of ``masks`` (N x H x W); all False when N = 0."""
    masks = np.asarray(masks)
    if masks.size == 0 or len(masks) == 0:
        return np.zeros(tuple(shape), bool)
    if masks.shape[1:] != tuple(shape):
        raise ValueError(f'instance masks are {masks.shape[1]}x{masks.shape[2]} but the image is {shape[0]}x{shape[1]}')
    return masks.astype(bool).any(axis=0)


def mask_outside(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of ``image`` (H x W or H x W x C) with every pixel where ``mask`` is False set to 0."""
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f'mask is {mask.shape[0]}x{mask.shape[1]} but the image is {image.shape[0]}x{image.shape[1]}')
    return np.where(mask[..., None] if image.ndim == 3 else mask, image, 0).astype(image.dtype)


def box_window(box: Sequence[float], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` array slice of an x1y1x2y2 float box: every pixel the box touches
    (floor of the start, ceil of the end), clipped to the image, at least 1 x 1."""
    h, w = shape
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError(f'box {list(box)} has a non-finite coordinate')

    def span(a, b, size):
        lo = min(max(int(math.floor(min(a, b))), 0), size - 1)
        hi = min(max(int(math.ceil(max(a, b))), lo + 1), size)
        return lo, hi

    y0, y1_ = span(y1, y2, h)
    x0, x1_ = span(x1, x2, w)
    return y0, y1_, x0, x1_


def classifier_inputs(image: np.ndarray, pred: InstancePrediction, mode: str) -> list[np.ndarray]:
    """What the classifier sees (module docstring): ``mask`` -> [the masked image] (none without
    detections), ``crop`` -> one box crop per instance, in the order of ``pred``."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if len(pred.scores) == 0:
        return []
    if mode == 'mask':
        return [mask_outside(image, union_mask(pred.masks, image.shape[:2]))]
    crops = []
    for box in pred.boxes:
        y0, y1, x0, x1 = box_window(box, image.shape[:2])
        crops.append(np.ascontiguousarray(image[y0:y1, x0:x1]))
    return crops


def aggregate(probs: np.ndarray, method: str) -> np.ndarray:
    """Scores (K,) of an image from the class probabilities (N x K, N >= 1) of its cells."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f'expected an N x K array of probabilities with N >= 1, got shape {probs.shape}')
    if method == 'mean':
        return probs.mean(axis=0)
    if method == 'max':
        return probs.max(axis=0)
    if method == 'vote':
        return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
    raise ValueError(f'aggregation must be one of {AGGREGATIONS}, got {method!r}')


def decide(scores: np.ndarray, probs: np.ndarray | None = None, method: str = 'mean') -> int:
    """The predicted class: highest score; for ``vote`` ties go to the higher mean probability of
    ``probs``; remaining ties to the lower index."""
    scores = np.asarray(scores, dtype=np.float64)
    best = np.flatnonzero(scores == scores.max())
    if len(best) > 1 and method == 'vote' and probs is not None:
        mean = np.asarray(probs, dtype=np.float64).mean(axis=0)[best]
        best = best[mean == mean.max()]
    return int(best[0])


@dataclass
class ImageClassification:
    """The outcome for one image: ``scores`` (K,) is None and ``predicted`` is :data:`NO_CELL` when
    nothing was detected; ``cell_probs`` are the classifier's probabilities per input (crop mode:
    one row per cell, in the order of the detections; mask mode: one row)."""
    image: str
    n_cells: int
    predicted: str
    scores: np.ndarray | None = None
    predicted_index: int | None = None
    cell_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def classify_detections(image: np.ndarray, pred: InstancePrediction, classify: Callable[[list], np.ndarray],
                        class_names: Sequence[str], mode: str = 'mask', aggregation: str = 'mean',
                        name: str = '') -> ImageClassification:
    """Classify the detections ``pred`` (already filtered by score) of ``image`` (H x W x 3).

    ``classify(list of H x W x 3 arrays) -> N x K probabilities`` is the classifier. In mask mode
    the aggregation is not applied (one input per image).
    """
    inputs = classifier_inputs(image, pred, mode)
    if not inputs:
        return ImageClassification(name, 0, NO_CELL)
    probs = np.asarray(classify(inputs), dtype=np.float64)
    if probs.shape != (len(inputs), len(class_names)):
        raise ValueError(f'the classifier returned probabilities of shape {probs.shape} for {len(inputs)} input(s) '
                         f'and {len(class_names)} classes {list(class_names)}')
    method = aggregation if mode == 'crop' else 'mean'
    scores = aggregate(probs, method)
    index = decide(scores, probs, method)
    return ImageClassification(name, len(pred.scores), class_names[index], scores, index, probs)


def draw_classified_overlay(image_rgb: np.ndarray, pred: InstancePrediction, result: ImageClassification,
                            class_names: Sequence[str], mode: str = 'mask', thickness: int | None = None) -> np.ndarray:
    """Contours of the detected cells coloured by class, with a banner naming the image's class.

    Crop mode (one probability row per cell): each cell in the colour of its own most probable
    class, labelled with it and its probability. Mask mode: every cell in the colour of the
    image's class. Colours: :data:`CLASS_COLORS` by class index.
    """
    canvas = _as_rgb(image_rgb)
    h, w = canvas.shape[:2]
    t = thickness or max(1, round(min(h, w) / 150))
    scale = max(0.3, min(h, w) / 600)
    per_cell = mode == 'crop' and len(result.cell_probs) == len(pred.scores)
    for i, (mask, box) in enumerate(zip(pred.masks, pred.boxes)):
        if per_cell:
            k = int(np.argmax(result.cell_probs[i]))
            label = f'{class_names[k]} {result.cell_probs[i][k]:.2f}'
        else:
            k, label = result.predicted_index, None
        color = CLASS_COLORS[k % len(CLASS_COLORS)] if k is not None else NO_CELL_COLOR
        contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, color, t, lineType=cv2.LINE_8)
        if label:
            _text(canvas, label, int(max(box[0], 0)), int(max(box[1], 0)), color, scale)
    if result.scores is None:
        banner, color = f'{NO_CELL} (0 detections)', NO_CELL_COLOR
    else:
        banner = f'{result.predicted} {result.scores[result.predicted_index]:.2f} ({result.n_cells} cells)'
        color = CLASS_COLORS[result.predicted_index % len(CLASS_COLORS)]
    _text(canvas, banner, 2, 0, color, scale * 1.3)
    return canvas


def _text(canvas: np.ndarray, text: str, x: int, y: int, color, scale: float) -> None:
    """``text`` on a black box whose top-left corner is (x, y) (moved down to stay inside)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y = max(y, 0) + th + base
    cv2.rectangle(canvas, (x, y - th - base), (x + tw + 2, y), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x + 1, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def csv_header(class_names: Sequence[str]) -> list[str]:
    return ['image', 'n_cells', *[f'score_{c}' for c in class_names], 'predicted']


def write_csv(path: str, results: Sequence[ImageClassification], class_names: Sequence[str]) -> None:
    """One row per image: image, n_cells, score_<class> per class (empty for no cell), predicted."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(csv_header(class_names))
        for r in results:
            scores = [''] * len(class_names) if r.scores is None else [f'{s:.6f}' for s in r.scores]
            writer.writerow([r.image, r.n_cells, *scores, r.predicted])


def summary(results: Sequence[ImageClassification], class_names: Sequence[str], **settings) -> dict:
    """JSON-ready summary: the settings, the count of images per predicted class (``no cell``
    included) and every image with its scores and, per classifier input, the probabilities."""
    counts = {c: 0 for c in [*class_names, NO_CELL]}
    for r in results:
        counts[r.predicted] += 1
    images = [{'image': r.image, 'n_cells': r.n_cells, 'predicted': r.predicted,
               'scores': None if r.scores is None else dict(zip(class_names, map(float, r.scores))),
               'input_probabilities': [dict(zip(class_names, map(float, p))) for p in r.cell_probs]}
              for r in results]
    return dict(settings, classes=list(class_names), num_images=len(results), predicted_counts=counts,
                images=images)
