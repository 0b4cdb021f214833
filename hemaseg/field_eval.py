"""Whole-field nucleus segmentation: composite fields with full ground truth, and component scores.

A model trained on centred single cells can put a "nucleus" into windows of a smear field that hold
none. Dice over a field hides that (one large blob on a red cell costs little Dice on a field full of
nuclei), so fields are scored by connected components (4-connected) as well:

* a **false-positive component** is a predicted component with less than ``fp_overlap`` (10 %) of its
  area on the reference nucleus mask;
* a reference nucleus is **found** when at least ``hit_cover`` (50 %) of its area is predicted;
* **Dice** is pooled over the field's pixels.

:func:`build_composite_field` makes fields whose ground truth is complete: labelled cells (test-split
images with their nucleus masks) pasted at random places and scales onto a background tiled from
labelled regions that hold no nucleus (:func:`nucleus_free_patches`, with a margin around every
nucleus so that no cytoplasm of an unlabelled cell part comes along). Real fields without masks
(B-ALL) can only be scored against a weak reference such as the handcrafted mask, which a model
gated by that same mask contains by construction: score the gate on composite fields.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi

from .handcrafted import CONNECTIVITY_4, area_opening
from .viz import GT_COLOR, PRED_COLOR, draw_contour_overlay, draw_title

FP_COLOR = (255, 0, 0)


@dataclass(frozen=True)
class FieldScore:
    """Component and pixel scores of one field (module doc)."""
    predicted_components: int
    false_positives: int
    reference_nuclei: int
    found: int
    dice: float

    def as_dict(self) -> dict:
        return asdict(self)


def _component_overlaps(prediction: np.ndarray, reference: np.ndarray):
    """Labelled components of both masks with their areas and overlaps (``score_field``'s counts)."""
    prediction, reference = np.asarray(prediction, bool), np.asarray(reference, bool)
    if prediction.shape != reference.shape:
        raise ValueError(f'prediction {prediction.shape} and reference {reference.shape} differ in size')
    pred_labels, n_pred = ndi.label(prediction, structure=CONNECTIVITY_4)
    ref_labels, n_ref = ndi.label(reference, structure=CONNECTIVITY_4)
    pred_area = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)[1:]
    pred_on_ref = np.bincount(pred_labels[reference].ravel(), minlength=n_pred + 1)[1:]
    ref_area = np.bincount(ref_labels.ravel(), minlength=n_ref + 1)[1:]
    ref_covered = np.bincount(ref_labels[prediction].ravel(), minlength=n_ref + 1)[1:]
    return prediction, reference, pred_labels, pred_area, pred_on_ref, ref_area, ref_covered


def remove_small_regions(label_map: np.ndarray, min_area: int) -> tuple:
    """Set every 4-connected component of a foreground class (label > 0) with fewer than ``min_area``
    pixels to background: the area opening of spec 002 Eq. 12 (:func:`hemaseg.handcrafted.area_opening`)
    applied class by class to a learned model's whole-field prediction, without the handcrafted gate.
    Returns ``(new label map, number of components removed)``."""
    label_map = np.asarray(label_map)
    out, removed = label_map.copy(), 0
    for label in np.unique(label_map):
        if label == 0:
            continue
        mask = label_map == label
        kept = area_opening(mask, int(min_area))
        lost = mask & ~kept
        if lost.any():
            removed += ndi.label(lost, structure=CONNECTIVITY_4)[1]
            out[lost] = 0
    return out, int(removed)


def score_field(prediction: np.ndarray, reference: np.ndarray, fp_overlap: float = 0.1,
                hit_cover: float = 0.5) -> FieldScore:
    """Score a binary nucleus prediction against a binary reference of the same field (module doc)."""
    prediction, reference, _, pred_area, pred_on_ref, ref_area, ref_covered = _component_overlaps(prediction, reference)
    total = int(prediction.sum() + reference.sum())
    dice = 1.0 if total == 0 else 2.0 * int((prediction & reference).sum()) / total
    return FieldScore(predicted_components=len(pred_area),
                      false_positives=int((pred_on_ref < fp_overlap * pred_area).sum()),
                      reference_nuclei=len(ref_area), found=int((ref_covered >= hit_cover * ref_area).sum()),
                      dice=float(dice))


def false_positive_mask(prediction: np.ndarray, reference: np.ndarray, fp_overlap: float = 0.1) -> np.ndarray:
    """The predicted components that ``score_field`` counts as false positives, as one boolean mask."""
    _, _, pred_labels, pred_area, pred_on_ref, _, _ = _component_overlaps(prediction, reference)
    is_fp = np.concatenate([[False], pred_on_ref < fp_overlap * pred_area])
    return is_fp[pred_labels]


def draw_field_overlay(image_rgb: np.ndarray, prediction: np.ndarray, reference: np.ndarray,
                       fp_overlap: float = 0.1, title: str | None = None) -> np.ndarray:
    """A field with the reference nuclei outlined (green), predicted components that touch them
    (yellow) and false-positive components (red, filled half-transparent so that small ones show)."""
    prediction, reference = np.asarray(prediction, bool), np.asarray(reference, bool)
    fp = false_positive_mask(prediction, reference, fp_overlap)
    canvas = draw_contour_overlay(image_rgb, (prediction & ~fp).astype(np.uint8), reference.astype(np.uint8),
                                  legend=False)
    red = np.array(FP_COLOR, np.float32)
    canvas[fp] = (0.5 * canvas[fp] + 0.5 * red).astype(np.uint8)
    t = max(1, round(min(canvas.shape[:2]) / 150))
    contours, _ = cv2.findContours(fp.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, FP_COLOR, t)
    legend = [('reference', GT_COLOR), ('predicted', PRED_COLOR), ('false positive', FP_COLOR)]
    return draw_title(canvas, title, legend)


def summarise(scores: list) -> dict:
    """Totals over fields: false positives per field, nucleus recall, mean Dice over the fields."""
    n = len(scores)
    if n == 0:
        raise ValueError('no fields to summarise')
    ref = sum(s.reference_nuclei for s in scores)
    return dict(fields=n, predicted_components=sum(s.predicted_components for s in scores),
                false_positives=sum(s.false_positives for s in scores),
                false_positives_per_field=sum(s.false_positives for s in scores) / n,
                reference_nuclei=ref, found=sum(s.found for s in scores),
                recall=(sum(s.found for s in scores) / ref) if ref else float('nan'),
                mean_dice=float(np.mean([s.dice for s in scores])))


def nucleus_free_patches(image: np.ndarray, mask: np.ndarray, patch: int, margin: int,
                         nucleus_label: int = 1, stride: int | None = None, margin_factor: float = 0.0) -> list:
    """Square ``patch`` x ``patch`` cuts of ``image`` that hold no nucleus pixel within ``margin +
    margin_factor * d`` pixels, ``d`` the equivalent diameter of the image's nucleus area (the nucleus
    mask dilated so far that the cytoplasm around it, unlabelled in nucleus masks, stays out), on a
    grid of ``stride`` (default: half a patch)."""
    if patch < 1 or margin < 0 or margin_factor < 0:
        raise ValueError(f'need patch >= 1, margin >= 0 and margin_factor >= 0, got {patch}, {margin}, {margin_factor}')
    nucleus = mask == nucleus_label
    margin = int(round(margin + margin_factor * np.sqrt(4.0 * nucleus.sum() / np.pi)))
    if margin and nucleus.any():
        nucleus = cv2.dilate(nucleus.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)
    stride = stride or max(1, patch // 2)
    H, W = mask.shape
    # summed-area table: a window is free when it has no (dilated) nucleus pixel
    table = np.pad(nucleus.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    patches = []
    for y in range(0, H - patch + 1, stride):
        for x in range(0, W - patch + 1, stride):
            count = table[y + patch, x + patch] - table[y, x + patch] - table[y + patch, x] + table[y, x]
            if count == 0:
                patches.append(image[y:y + patch, x:x + patch].copy())
    return patches


def cell_cutout(image: np.ndarray, mask: np.ndarray, context: float = 1.8, nucleus_label: int = 1):
    """``(rgb, nucleus mask, alpha)`` of the cell around the nucleus: the nucleus's bounding box grown
    ``context`` times (cytoplasm included), clipped to the image; ``alpha`` is an ellipse inscribed in
    the cut, feathered at its rim, which contains the whole nucleus box (for ``context`` >= 1.5)."""
    nucleus = mask == nucleus_label
    if not nucleus.any():
        raise ValueError('the mask has no nucleus pixel')
    ys, xs = np.nonzero(nucleus)
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    hh, hw = (ys.max() - ys.min() + 1) * context / 2, (xs.max() - xs.min() + 1) * context / 2
    y0, y1 = int(max(0, np.floor(cy - hh))), int(min(mask.shape[0], np.ceil(cy + hh) + 1))
    x0, x1 = int(max(0, np.floor(cx - hw))), int(min(mask.shape[1], np.ceil(cx + hw) + 1))
    yy, xx = np.mgrid[y0:y1, x0:x1]
    radius = np.sqrt(((yy - cy) / hh) ** 2 + ((xx - cx) / hw) ** 2)
    alpha = np.clip((1.0 - radius) / 0.15, 0.0, 1.0)  # 1 inside 85 % of the ellipse, 0 outside it
    alpha[nucleus[y0:y1, x0:x1]] = 1.0
    return image[y0:y1, x0:x1], nucleus[y0:y1, x0:x1], alpha


def build_composite_field(rng: np.random.Generator, cells: list, backgrounds: list, size: tuple,
                          num_cells: int, scale_range: tuple = (0.9, 1.1), max_tries: int = 200):
    """One composite field: ``(rgb, nucleus mask, placements)``.

    ``cells``: ``(rgb, nucleus mask, alpha)`` cut-outs (:func:`cell_cutout`); ``backgrounds``: square
    nucleus-free patches (:func:`nucleus_free_patches`), tiled with random flips and rotations over
    the ``(h, w)`` field; ``num_cells`` cells drawn without replacement, each rescaled by a factor
    from ``scale_range`` and placed where it does not overlap an earlier cell (a cell that finds no
    place within ``max_tries`` is left out, and ``placements`` lists only those placed).
    """
    h, w = size
    if not backgrounds:
        raise ValueError('no nucleus-free background patches')
    p = backgrounds[0].shape[0]
    field = np.zeros((h + p, w + p, 3), np.uint8)
    for y in range(0, h, p):
        for x in range(0, w, p):
            tile = backgrounds[int(rng.integers(len(backgrounds)))]
            tile = np.rot90(tile, int(rng.integers(4)))
            if rng.random() < 0.5:
                tile = tile[:, ::-1]
            field[y:y + p, x:x + p] = tile
    field = field[:h, :w].astype(np.float32)
    truth = np.zeros((h, w), bool)
    taken = np.zeros((h, w), bool)
    placements = []
    for index in rng.permutation(len(cells))[:num_cells]:
        rgb, nucleus, alpha = cells[int(index)]
        s = float(rng.uniform(*scale_range))
        ch, cw = max(1, round(rgb.shape[0] * s)), max(1, round(rgb.shape[1] * s))
        if ch > h or cw > w:
            continue
        rgb = cv2.resize(rgb, (cw, ch), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        nucleus = cv2.resize(nucleus.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)
        alpha = cv2.resize(alpha.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
        for _ in range(max_tries):
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            if not taken[y:y + ch, x:x + cw][alpha > 0].any():
                break
        else:
            continue
        a = alpha[..., None]
        field[y:y + ch, x:x + cw] = a * rgb + (1 - a) * field[y:y + ch, x:x + cw]
        truth[y:y + ch, x:x + cw] |= nucleus
        taken[y:y + ch, x:x + cw] |= alpha > 0
        placements.append(dict(cell=int(index), y=y, x=x, h=ch, w=cw, scale=round(s, 4)))
    return np.clip(field + 0.5, 0, 255).astype(np.uint8), truth, placements


def add_field_mode_args(parser, subject: str, default_mode: str) -> None:
    """``--scale`` and the ``--whole-field`` / ``--single-crop`` choice of the tools that segment with an
    mmseg model (``tools/infer.py``, ``tools/precompute_masks.py``; ``mmseg_plugins.apis.Segmenter``
    does the work). ``subject`` starts each help text ('segmentation', 'mmseg model');
    ``default_mode`` says what happens with neither flag."""
    parser.add_argument('--scale', type=float, help=f'{subject}, whole-field mode: network-input pixels per image '
                        "pixel (default: from the config's inference key)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--whole-field', action='store_true', help=f'{subject}: rescale + sliding window for every '
                      f'image, whatever its size (default: {default_mode})')
    mode.add_argument('--single-crop', action='store_true', help=f'{subject}: resize every image to the network '
                      'input, whatever its size (the behaviour for single-cell crops)')
