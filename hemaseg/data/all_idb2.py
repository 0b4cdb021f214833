"""Converter for ALL-IDB2 (Labati, Piuri, Scotti, ICIP 2011): cell segmentation and ALL-vs-normal classification.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Spec 002 §5 segments the 260 ALL-IDB2 single-cell crops (nucleus GT, Tables 2 and 4)
and says nothing about where its masks came from (§2.7 #12). We read two public mask
sets; ``putzu`` (pathologist masks of Loddo & Putzu) is the default and the ground
truth, ``banik`` a second, independent set whose disagreement with ``putzu``
(:func:`annotator_agreement`) bounds what any segmentation score can mean.

Input layout (as distributed)::

    <src>/images/ImNNN_L.tif         RGB, 257x257 except 10 smaller crops (e.g. 257x193);
                                     L = 1 lymphoblast (ALL), L = 0 normal cell
    <src>/masks_putzu/ImNNN_L.tif    RGB codes: background (255,255,255), cytoplasm (0,0,255), nucleus (0,255,255)
    <src>/masks_banik/ImNNN_L.png    grey levels: 0 background, 155 cytoplasm, 255 nucleus

Targets (label maps written by the segmentation task, :mod:`hemaseg.data.layout`):
``'nucleus'`` 0 background (cytoplasm included), 1 nucleus; ``'wholecell'`` 0
background, 1 cell (= not background, nucleus + cytoplasm); ``'3class'`` 0 background,
1 cytoplasm, 2 nucleus. Stems are the source names (``Im001_1``).

Splits: the project's 5-chunk rotation (:mod:`hemaseg.data.splits`), stratified by the
label (ALL / normal) and grouped so that pixel-identical images (``Im223_0`` and
``Im257_0`` in the distributed copy; found by hashing, :mod:`hemaseg.data.duplicates`)
always share a chunk. Their masks differ slightly (two annotations of the same cell),
so both are kept. The paper's 10-fold CV (spec 002 §4.2) is not reproduced: every
dataset of the project uses the same 6:2:2 rotation, so scores are comparable across them.

Mask colours further than ``snap_tolerance`` from every code (per channel, i.e. the
Chebyshev distance in RGB; the grey distance for banik) are errors naming the file and
the colours; nearer ones are snapped to the nearest code, printed and counted in
meta.json ``repaired_pixels``. The distributed masks hold only the three codes.

The classification task (:func:`convert_all_idb2_classification`) writes the
MMPretrain layout of :mod:`hemaseg.data.classification` with classes
``('normal', 'ALL')``, so the label index equals the file-name suffix L.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..metrics import METRIC_NAMES, confusion_counts, scores, summarize
from .annotations import IMAGE_EXTS
from .classification import LEAKAGE_WARNING, ClassificationWriter, summarize_class_folds
from .duplicates import NEAR_DUP_DISTANCE, group_identical_images, pixel_digest
from .io import DatasetError, PathLike, check_same_size, map_mask_values, read_image, read_mask
from .layout import CLASS_MODES, DatasetWriter, load_meta, summarize_folds
from .splits import NUM_FOLDS

STEM_RE = re.compile(r'^Im(\d+)_([01])$')
LABEL_OF_DIGIT = {'0': 'normal', '1': 'ALL'}
CLASSIFICATION_CLASSES = ('normal', 'ALL')  # label index == the file-name digit
TARGETS = ('nucleus', 'wholecell', '3class')
ANNOTATORS = ('putzu', 'banik')
REFERENCE_ANNOTATOR = 'putzu'  # the pathologists' masks: ground truth of the agreement
# Raw region codes shared by both mask sets: 0 background, 1 cytoplasm, 2 nucleus.
PUTZU_COLOURS = {(255, 255, 255): 0, (0, 0, 255): 1, (0, 255, 255): 2}  # RGB
BANIK_LEVELS = {0: 0, 155: 1, 255: 2}
RAW_TO_TARGET = {'nucleus': np.array([0, 0, 1], np.uint8), 'wholecell': np.array([0, 1, 1], np.uint8),
                 '3class': np.array([0, 1, 2], np.uint8)}
PROGRESS_EVERY = 50


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise DatasetError(f'unknown target {target!r}; choose one of {TARGETS}')


def list_images(src: Path) -> list[tuple[str, Path, str]]:
    """``(stem, path, 'ALL' | 'normal')`` for every ``<src>/images/ImNNN_L.tif``, sorted by stem."""
    folder = src / 'images'
    if not folder.is_dir():
        raise DatasetError(f'no images folder {folder} (expected the ALL-IDB2 layout <src>/images/ImNNN_L.tif)')
    return list_labelled_images(folder)


def list_labelled_images(folder: Path) -> list[tuple[str, Path, str]]:
    """``(stem, path, 'ALL' | 'normal')`` for every image ``ImNNN_L.<ext>`` in ``folder`` (the naming of
    both ALL-IDB sets), sorted by stem; other image names and two files per stem are errors."""
    items, bad = [], []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in IMAGE_EXTS:
            continue
        m = STEM_RE.match(p.stem)
        if m is None:
            bad.append(p.name)
        else:
            items.append((p.stem, p, LABEL_OF_DIGIT[m.group(2)]))
    if bad:
        raise DatasetError(f'{len(bad)} image name(s) in {folder} are not ImNNN_L (L = 1 ALL, 0 normal), '
                           f'so their label is unknown: {bad[:10]}')
    if not items:
        raise DatasetError(f'no ImNNN_L images ({", ".join(IMAGE_EXTS)}) in {folder}')
    if dup := sorted(s for s, n in Counter(s for s, _, _ in items).items() if n > 1):
        raise DatasetError(f'several image files per stem in {folder}: {dup[:10]}')
    return items


def find_masks(src: Path, annotator: str, stems: list[str]) -> dict[str, Path]:
    """``{stem: mask path}`` in ``<src>/masks_<annotator>/`` (any image extension); all missing ones in one error."""
    if annotator not in ANNOTATORS:
        raise DatasetError(f'unknown annotator {annotator!r}; choose one of {ANNOTATORS}')
    folder = src / f'masks_{annotator}'
    if not folder.is_dir():
        raise DatasetError(f'no mask folder {folder} for annotator {annotator!r}')
    by_stem: dict[str, list[Path]] = {}
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
            by_stem.setdefault(p.stem, []).append(p)
    missing = [s for s in stems if s not in by_stem]
    if missing:
        raise DatasetError(f'{len(missing)} image(s) have no {annotator} mask in {folder}: {missing[:10]}')
    if ambiguous := [sorted(p.name for p in by_stem[s]) for s in stems if len(by_stem[s]) > 1]:
        raise DatasetError(f'several mask files for one image in {folder}: {ambiguous[:5]}')
    return {s: by_stem[s][0] for s in stems}


def map_mask_colours(rgb: np.ndarray, colour_to_label: Mapping[tuple[int, int, int], int], path: PathLike,
                     snap_tolerance: int = 0, snapped: list | None = None) -> tuple[np.ndarray, int]:
    """RGB colour codes -> labels, the colour analogue of :func:`~hemaseg.data.io.map_mask_values`.

    A colour that is no key is snapped to the key nearest in Chebyshev distance (the
    largest per-channel difference) if that is at most ``snap_tolerance`` and unique;
    otherwise it is an error naming ``path``, the colours and their pixel counts.
    Returns ``(labels, n_snapped_pixels)``; ``(colour, count, key)`` per snapped colour is
    appended to ``snapped`` if given.
    """
    keys = np.array(list(colour_to_label), np.int64)  # K x 3
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    values, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1)
    dist = np.abs(colours[:, None, :] - keys[None, :, :]).max(axis=2)  # U x K Chebyshev distances
    labels = np.empty(len(values), np.uint8)
    bad, n_snapped = [], 0
    for i, (colour, d) in enumerate(zip(colours, dist)):
        nearest = np.flatnonzero(d == d.min())
        key = tuple(int(v) for v in keys[nearest[0]])
        if d.min() == 0 or (d.min() <= snap_tolerance and len(nearest) == 1):
            labels[i] = colour_to_label[key]
            if d.min():
                n_snapped += int(counts[i])
                if snapped is not None:
                    snapped.append((tuple(int(v) for v in colour), int(counts[i]), key))
        else:
            why = (f'equidistant to {" / ".join(str(tuple(int(v) for v in keys[j])) for j in nearest)}'
                   if len(nearest) > 1 else f'nearest code {key} is {int(d.min())} away')
            bad.append(f'{tuple(int(v) for v in colour)} ({int(counts[i])} px, {why})')
    if bad:
        raise DatasetError(f'mask {path} has unexpected colours {", ".join(bad[:10])}; expected only RGB '
                           f'{sorted(colour_to_label)} (snap tolerance {snap_tolerance})')
    return labels[inverse].reshape(rgb.shape[:2]), n_snapped


def read_region_mask(path: Path, annotator: str, snap_tolerance: int = 60, log: Callable[[str], None] = print
                     ) -> tuple[np.ndarray, int]:
    """``(codes, snapped_pixels)``: a mask of either set as raw codes 0 background, 1 cytoplasm, 2 nucleus."""
    snapped: list = []
    if annotator == 'putzu':
        codes, n = map_mask_colours(read_image(path), PUTZU_COLOURS, path, snap_tolerance, snapped)
    elif annotator == 'banik':
        codes, n = map_mask_values(read_mask(path), BANIK_LEVELS, path, snap_tolerance, snapped)
    else:
        raise DatasetError(f'unknown annotator {annotator!r}; choose one of {ANNOTATORS}')
    if n:
        log(f'  {path.stem}: snapped {n} px of stray mask values in {path}: '
            + ', '.join(f'{v} ({c} px) -> {k}' for v, c, k in snapped))
    return codes, n


def convert_all_idb2(src: PathLike, out: PathLike, target: str = 'nucleus', annotator: str = 'putzu',
                     seed: int = 0, num_folds: int = NUM_FOLDS, snap_tolerance: int = 60,
                     near_dup_distance: int | None = NEAR_DUP_DISTANCE, log: Callable[[str], None] = print) -> dict:
    """Convert ALL-IDB2 images + one annotator's masks into the segmentation layout in ``out``.

    Every image and mask is read and checked before ``out`` is touched. meta.json adds
    ``annotator``, ``target``, ``labels`` {stem: 'ALL' | 'normal'} and
    ``identical_images`` [[stem, ...]] to the standard keys. Returns a summary dict.
    ``near_dup_distance``: dHash threshold of near-duplicates kept in one chunk, joined within a
    label (None or negative: off; :mod:`hemaseg.data.duplicates`).
    """
    t0 = time.perf_counter()
    _check_target(target)
    src = Path(src).resolve()
    items = list_images(src)
    stems = [s for s, _, _ in items]
    masks = find_masks(src, annotator, stems)
    label = {s: lab for s, _, lab in items}
    log(f'reading {len(items)} images + {annotator} masks from {src} [target={target}]')
    samples, digests, repaired = [], {}, {}
    for i, (stem, img_path, _) in enumerate(items, 1):
        image = read_image(img_path)
        codes, repaired[stem] = read_region_mask(masks[stem], annotator, snap_tolerance, log)
        check_same_size(image, codes, img_path, masks[stem])
        digests[stem] = pixel_digest(image)
        samples.append((stem, image, RAW_TO_TARGET[target][codes]))
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}] read')
    groups, identical = group_identical_images(stems, digests, label)
    for g in identical:
        log(f'  identical images kept in one chunk: {", ".join(g)}')

    writer = DatasetWriter(out, dataset='all_idb2', classes=target, converter='all_idb2', source=str(src),
                           seed=seed, num_folds=num_folds, near_dup_distance=near_dup_distance, log=log,
                           options={'task': 'segmentation', 'target': target, 'annotator': annotator,
                                    'seed': seed, 'snap_tolerance': snap_tolerance})
    for stem, image, labels in samples:
        writer.add(stem, image, labels, group=groups[stem], stratum=label[stem], repaired_pixels=repaired[stem])
    folds = writer.finalize({'annotator': annotator, 'target': target, 'labels': label,
                             'identical_images': identical})
    elapsed = time.perf_counter() - t0
    counts = Counter(label.values())
    log(f'done in {elapsed:.1f} s: {len(items)} images (ALL {counts["ALL"]}, normal {counts["normal"]}), '
        f'{sum(repaired.values())} mask px snapped in {sum(1 for n in repaired.values() if n)} masks -> {out}')
    for line in summarize_folds(folds, writer.strata):
        log('  ' + line)
    return {'num_images': len(items), 'per_label': dict(counts), 'identical_images': identical,
            'repaired_pixels': {s: n for s, n in repaired.items() if n}, 'folds': folds, 'seconds': elapsed}


def convert_all_idb2_classification(src: PathLike, out: PathLike, seed: int = 0, num_folds: int = NUM_FOLDS,
                                    near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                                    log: Callable[[str], None] = print) -> dict:
    """ALL-IDB2 as ALL-vs-normal classification (label from the file name) in the layout of
    :mod:`hemaseg.data.classification`; identical images and near-duplicates (dHash within
    ``near_dup_distance``; None or negative: off) share a chunk. Returns meta.json as a dict."""
    t0 = time.perf_counter()
    src = Path(src).resolve()
    items = list_images(src)
    log(f'converting {len(items)} images from {src} -> {out} [classification: {", ".join(CLASSIFICATION_CLASSES)}]')
    writer = ClassificationWriter(out, dataset='all_idb2', classes=CLASSIFICATION_CLASSES, converter='all_idb2',
                                  source=str(src), seed=seed, num_folds=num_folds,
                                  near_dup_distance=near_dup_distance, log=log,
                                  options={'task': 'classification', 'seed': seed})
    for i, (_, path, lab) in enumerate(items, 1):
        writer.add(lab, path.name, path)
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}]')
    log(f'warning: {LEAKAGE_WARNING}')
    near = '' if writer.near_dup_distance is None else ' and near-duplicates'
    writer.finalize({'grouping': f'identical images{near} only (ALL-IDB2 file names identify neither the patient nor '
                                 'the ALL-IDB1 field a crop was cut from)', 'leakage_warning': LEAKAGE_WARNING})
    meta = load_meta(out)
    for g in meta['identical_images']:
        log(f'  identical images kept in one chunk: {", ".join(g)}')
    log(f'done in {time.perf_counter() - t0:.1f} s: {meta["counts"]["all"]}')
    for line in summarize_class_folds(meta):
        log('  ' + line)
    return meta


def annotator_agreement(src: PathLike, target: str = 'nucleus', compared: str = 'banik',
                        snap_tolerance: int = 60, log: Callable[[str], None] = print) -> dict:
    """Scores of the ``compared`` masks against the ``putzu`` masks: the ceiling of any model scored on putzu.

    For every foreground class of ``target`` (``nucleus``: nucleus; ``wholecell``: cell;
    ``3class``: cytoplasm and nucleus), that class is the positive and the rest the
    negative, and :func:`hemaseg.metrics.summarize` gives pooled scores (``Dice`` …) and
    per-image means (``mDice`` …) of every metric in ``METRIC_NAMES``. Also per label
    (ALL / normal) and, per image, Dice and IoU.
    """
    _check_target(target)
    if compared == REFERENCE_ANNOTATOR or compared not in ANNOTATORS:
        raise DatasetError(f'compared annotator must be one of {[a for a in ANNOTATORS if a != REFERENCE_ANNOTATOR]}')
    src = Path(src).resolve()
    items = list_images(src)
    stems = [s for s, _, _ in items]
    ref_paths, cmp_paths = find_masks(src, REFERENCE_ANNOTATOR, stems), find_masks(src, compared, stems)
    classes = CLASS_MODES[target][0]
    lut = RAW_TO_TARGET[target]
    counts: dict[str, dict[str, list]] = {c: {} for c in classes[1:]}
    per_image: dict[str, dict[str, dict[str, float]]] = {}
    log(f'scoring {compared} masks against {REFERENCE_ANNOTATOR} masks on {len(items)} images [target={target}]')
    for i, (stem, _, lab) in enumerate(items, 1):
        ref, _ = read_region_mask(ref_paths[stem], REFERENCE_ANNOTATOR, snap_tolerance, log)
        cmp_, _ = read_region_mask(cmp_paths[stem], compared, snap_tolerance, log)
        check_same_size(ref, cmp_, ref_paths[stem], cmp_paths[stem])
        per_image[stem] = {}
        for c, name in enumerate(classes[1:], 1):
            cc = confusion_counts(lut[cmp_], lut[ref], positive=c, ignore_index=None)
            counts[name].setdefault(lab, []).append(cc)
            s = scores(cc)
            per_image[stem][name] = {'Dice': s['Dice'], 'IoU': s['IoU']}
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}]')
    result = {'reference': REFERENCE_ANNOTATOR, 'compared': compared, 'target': target, 'num_images': len(items),
              'metrics': list(METRIC_NAMES), 'classes': {}, 'by_label': {}, 'per_image': per_image}
    for name, by_label in counts.items():
        result['classes'][name] = summarize([c for lab in sorted(by_label) for c in by_label[lab]])
        result['by_label'][name] = {lab: summarize(cs) for lab, cs in sorted(by_label.items())}
    return result


def format_agreement(result: Mapping) -> list[str]:
    """Printable lines: pooled and per-image-mean scores per class (and per label)."""
    names = result['metrics']
    lines = [f'{result["compared"]} vs {result["reference"]} masks, {result["num_images"]} images, '
             f'target {result["target"]} (pooled | per-image mean)']
    for cls, s in result['classes'].items():
        rows = [('all', s)] + list(result['by_label'][cls].items())
        for who, sc in rows:
            lines.append(f'  {cls:9s} {who:6s}  ' + '  '.join(f'{n} {sc[n]:.4f}|{sc["m" + n]:.4f}' for n in names))
    return lines
