"""Converter for ALL-IDB1 (Labati, Piuri, Scotti, ICIP 2011): 108 whole smear fields with blast centroids.

Paper: Al-Zubaidi et al., "ALL-FABNET", 2024 (no venue or DOI in the text) (docs/papers/003_all_fabnet.md).

Input layout (as distributed in ``ALL_IDB1.zip``; a flat folder holding both kinds of file is read too)::

    <src>/im/ImNNN_L.jpg      RGB JPEG fields, 2592x1944 or 1712x1368 (sizes are recorded, not checked);
                              L = 1: field of an ALL patient (probable lymphoblasts marked), L = 0: healthy
    <src>/xyc/ImNNN_L.xyc     text, one blast centroid per line, "x<TAB>y" in pixels (x = column,
                              y = row); empty for the healthy fields

Where this comes from (checked, since the data are not on this machine): the ALL-IDB home page
(homes.di.unimi.it/scotti/all) describes ALL_IDB1 as 108 JPEG images (24 bit, Canon PowerShot
G5), each with an ``ImNNN_L.xyc`` file "reporting the coordinates of the centroids" of the blasts,
shown as two integer columns. The ALL-IDB group's own MATLAB tools (github.com/AngeloUNIMI/
ALL-IDB-Patches, ``functions/readBlast.m`` and ``launch_create_labels_patches.m``) read
``ALL-IDB1/im/*.jpg`` and ``ALL-IDB1/xyc/*.xyc``, split every line at a tab into x and y, and
compare x with column and y with row ranges. Not documented anywhere found: whether
coordinates start at 0 or 1 (MATLAB suggests 1), so they are stored as given and accepted
anywhere in ``[0, width] x [0, height]``; any blank or comma also separates the two numbers.

Targets. **ALL-IDB1 ships no pixel masks** (spec 003 §5: only blast centroids and image
labels), so without masks the converter writes the image-level ALL-vs-normal set in the
classification layout of :mod:`hemaseg.data.classification` (JPEGs copied byte for byte,
classes ``('normal', 'ALL')`` so the label index equals L) plus the centroids. With
``masks`` (a folder of per-image white-blood-cell masks with the image stems, e.g. a public
re-annotation) it writes the segmentation layout of :mod:`hemaseg.data.layout` with the
``'wholecell'`` target (0 background, 1 cell). Accepted masks: one grey channel (or RGB with
equal channels), 8 bit, any of the image formats (PNG/TIF/BMP/JPEG); coded 0/1 (every value
0 or 1) or 0/255 (values near 0 or 255 are snapped within ``snap_tolerance`` and counted in
meta.json ``repaired_pixels``; a mask with no value >= 128 that is not 0/1, e.g. instance
ids, is an error). Images keep their original resolution: whole fields are what
``tools/infer.py`` segments, and the configs record the scale of their training crops.

Both modes write ``points/<stem>.json`` (label, size, ``blast_centroids`` [[x, y], ...]) and the
same centroids and labels into meta.json. Splits: the project's 5-chunk rotation, stratified
by the label, identical images kept in one chunk; nothing identifies the patient, so meta.json
carries the leakage warning. Centroids that contradict the label (a healthy field with
blasts, an ALL field without) are reported and stored in ``centroid_warnings``, not refused:
the label comes from the file name, which is the dataset's own ground truth.
"""
from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .all_idb2 import CLASSIFICATION_CLASSES, list_labelled_images
from .annotations import IMAGE_EXTS, find_annotated_images
from .classification import LEAKAGE_WARNING, ClassificationWriter, summarize_class_folds
from .duplicates import NEAR_DUP_DISTANCE, check_near_dup_distance, group_identical_images, pixel_digest
from .io import DatasetError, PathLike, check_same_size, map_mask_values, read_image, read_mask
from .layout import DatasetWriter, load_meta, summarize_folds
from .splits import NUM_FOLDS

XYC_EXT = '.xyc'
TARGET = 'wholecell'
POINTS_DIR = 'points'
PROGRESS_EVERY = 10  # whole fields are large: report often
NO_MASKS_NOTE = ('ALL-IDB1 ships no pixel masks, only blast centroids (.xyc) and the image label (spec 003 section 5); '
                 'this set is for image-level classification and point-level checks. Pass per-image cell masks '
                 '(--masks) to build a segmentation set')
CENTROID_CONVENTION = ('[x, y] as in the .xyc files: x = column, y = row, pixels of the original image; '
                       'whether the origin is 0 or 1 is not documented (the ALL-IDB tools are MATLAB, 1-based)')


def find_source_folders(src: Path) -> tuple[Path, Path]:
    """``(image folder, .xyc folder)``: ``<src>/im`` and ``<src>/xyc`` as distributed, else ``src`` itself."""
    if not src.is_dir():
        raise DatasetError(f'input folder {src} does not exist')
    img_dir = src / 'im' if (src / 'im').is_dir() else src
    xyc_dir = src / 'xyc' if (src / 'xyc').is_dir() else img_dir
    return img_dir, xyc_dir


def read_xyc(path: PathLike) -> list[list[float]]:
    """Blast centroids ``[[x, y], ...]`` of an ``.xyc`` file (whole numbers as int); blank lines are skipped.

    A line must hold exactly two numbers separated by blanks, tabs or a comma; anything else
    is an error naming the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8-sig')
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f'centroid file {path} is not readable text: {e}') from e
    points = []
    for i, line in enumerate(text.splitlines(), 1):
        fields = line.replace(',', ' ').split()
        if not fields:
            continue
        try:
            values = [float(f) for f in fields]
        except ValueError:
            values = []
        if len(values) != 2 or not all(np.isfinite(values)):
            raise DatasetError(f'{path} line {i}: expected two numbers "x y" (a blast centroid), got {line.strip()!r}')
        points.append([int(v) if v.is_integer() else v for v in values])
    return points


def check_centroids(points: Sequence[Sequence[float]], width: int, height: int, path: PathLike) -> None:
    """Raise naming ``path`` if a centroid lies outside ``[0, width] x [0, height]`` (x = column, y = row)."""
    outside = [p for p in points if not (0 <= p[0] <= width and 0 <= p[1] <= height)]
    if outside:
        raise DatasetError(f'{path}: {len(outside)} centroid(s) outside the {width}x{height} (WxH) image, e.g. '
                           f'{outside[:5]}; expected "x y" with x the column and y the row')


def read_binary_mask(path: PathLike, snap_tolerance: int = 60, snapped: list | None = None
                     ) -> tuple[np.ndarray, int]:
    """``(labels 0/1, n_snapped_pixels)`` of a 0/1 or 0/255 cell mask (see the module doc for what is accepted)."""
    raw = read_mask(path)
    top = int(raw.max()) if raw.size else 0
    if top <= 1:
        return raw.astype(np.uint8), 0
    if top < 128:
        raise DatasetError(f'mask {path} has values {np.unique(raw)[:10].tolist()} (max {top}): neither 0/1 nor 0/255 '
                           'coding; instance or label maps must be made binary (cell = value > 0) first')
    return map_mask_values(raw, {0: 0, 255: 1}, path, snap_tolerance, snapped)


def _list_source(src: Path, masks: Path | None) -> tuple[list[tuple[str, Path, str]], dict[str, Path],
                                                         dict[str, Path]]:
    """Images ``(stem, path, label)``, ``.xyc`` files and mask files by stem; every pairing problem in one error."""
    img_dir, xyc_dir = find_source_folders(src)
    items = list_labelled_images(img_dir)
    stems = [s for s, _, _ in items]
    _, xyc_files, _ = find_annotated_images(img_dir, xyc_dir, (XYC_EXT,))
    if missing := [s for s in stems if s not in xyc_files]:
        raise DatasetError(f'{len(missing)} image(s) in {img_dir} have no {XYC_EXT} centroid file in {xyc_dir} '
                           f'(healthy fields have an empty one): {missing[:10]}')
    mask_files: dict[str, Path] = {}
    if masks is not None:
        if not masks.is_dir():
            raise DatasetError(f'mask folder {masks} does not exist')
        if masks == img_dir:
            raise DatasetError(f'masks must be in their own folder, not among the images in {img_dir}')
        _, mask_files, _ = find_annotated_images(img_dir, masks, IMAGE_EXTS)
        if missing := [s for s in stems if s not in mask_files]:
            raise DatasetError(f'{len(missing)} image(s) have no mask <stem>{{{",".join(IMAGE_EXTS)}}} in '
                               f'{masks}: {missing[:10]}')
    return items, xyc_files, mask_files


def _centroid_warnings(points: dict[str, list], label: dict[str, str]) -> list[str]:
    return ([f'{s}: ALL field without blast centroids' for s in sorted(points) if label[s] == 'ALL' and not points[s]]
            + [f'{s}: healthy field with {len(points[s])} blast centroid(s)'
               for s in sorted(points) if label[s] == 'normal' and points[s]])


def _write_points(out: Path, stem: str, label: str, width: int, height: int, points: list) -> None:
    record = {'image': stem, 'label': label, 'width': width, 'height': height, 'blast_centroids': points,
              'convention': CENTROID_CONVENTION}
    (out / POINTS_DIR / f'{stem}.json').write_text(json.dumps(record) + '\n', encoding='utf-8')


def _reset_points_dir(out: Path) -> None:
    # The writers clean only their own folders; a stale points/ from an earlier run must go too.
    shutil.rmtree(out / POINTS_DIR, ignore_errors=True)
    (out / POINTS_DIR).mkdir()


def convert_all_idb1(src: PathLike, out: PathLike, masks: PathLike | None = None, seed: int = 0,
                     num_folds: int = NUM_FOLDS, snap_tolerance: int = 60,
                     near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                     log: Callable[[str], None] = print) -> dict:
    """Convert ALL-IDB1 into ``out``: classification layout + centroids, or with ``masks`` the 'wholecell'
    segmentation layout + centroids (see the module doc). Every image, ``.xyc`` file and mask is read
    and checked before ``out`` is touched. ``near_dup_distance``: dHash threshold of near-duplicate
    fields kept in one chunk, joined within a label (None or negative: off). Returns meta.json as a dict."""
    t0 = time.perf_counter()
    src = Path(src).resolve()
    mask_dir = Path(masks).resolve() if masks is not None else None
    items, xyc_files, mask_files = _list_source(src, mask_dir)
    label = {s: lab for s, _, lab in items}
    log(f'checking {len(items)} fields, their {XYC_EXT} files' + (f' and masks in {mask_dir}' if mask_dir else '')
        + f' from {src}')
    points, sizes, digests, repaired = {}, {}, {}, {}
    for i, (stem, img_path, _) in enumerate(items, 1):
        image = read_image(img_path)
        sizes[stem] = (image.shape[1], image.shape[0])
        points[stem] = read_xyc(xyc_files[stem])
        check_centroids(points[stem], *sizes[stem], xyc_files[stem])
        if mask_dir is not None:
            digests[stem] = pixel_digest(image)
            snapped: list = []
            cells, repaired[stem] = read_binary_mask(mask_files[stem], snap_tolerance, snapped)
            check_same_size(image, cells, img_path, mask_files[stem])
            if snapped:
                log(f'  {stem}: snapped {repaired[stem]} px of stray mask values in {mask_files[stem]}: '
                    + ', '.join(f'{v} ({c} px) -> {k}' for v, c, k in snapped))
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}] checked')
    warnings = _centroid_warnings(points, label)
    for w in warnings:
        log(f'warning: {w}')
    log(f'warning: {LEAKAGE_WARNING}')
    extra = {'labels': label, 'blast_centroids': points, 'centroid_convention': CENTROID_CONVENTION,
             'points_dir': POINTS_DIR, 'centroid_warnings': warnings,
             'grouping': ('identical images' + ('' if check_near_dup_distance(near_dup_distance) is None
                                                 else ' and near-duplicates')
                          + ' only (ALL-IDB1 file names do not identify the patient)'),
             'leakage_warning': LEAKAGE_WARNING}
    if mask_dir is None:
        meta = _write_classification(src, Path(out), items, sizes, points, extra, seed, num_folds,
                                     near_dup_distance, log)
    else:
        meta = _write_segmentation(src, Path(out), items, mask_files, sizes, points, digests, repaired, extra,
                                   seed, num_folds, snap_tolerance, mask_dir, near_dup_distance, log)
    counts = Counter(label.values())
    log(f'done in {time.perf_counter() - t0:.1f} s: {len(items)} fields (ALL {counts["ALL"]}, normal '
        f'{counts["normal"]}), {sum(len(p) for p in points.values())} blast centroids -> {out}')
    return meta


def _write_classification(src: Path, out: Path, items, sizes, points, extra, seed, num_folds, near_dup_distance,
                          log) -> dict:
    log(f'no masks: writing the ALL-vs-normal classification layout. {NO_MASKS_NOTE}')
    writer = ClassificationWriter(out, dataset='all_idb1', classes=CLASSIFICATION_CLASSES, converter='all_idb1',
                                  source=str(src), seed=seed, num_folds=num_folds,
                                  near_dup_distance=near_dup_distance, log=log,
                                  options={'task': 'classification', 'masks': None, 'seed': seed})
    _reset_points_dir(out)
    for i, (stem, path, lab) in enumerate(items, 1):
        writer.add(lab, path.name, path)
        _write_points(out, stem, lab, *sizes[stem], points[stem])
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}] written')
    writer.finalize({**extra, 'pixel_masks': NO_MASKS_NOTE})
    meta = load_meta(out)
    for g in meta['identical_images']:
        log(f'  identical images kept in one chunk: {", ".join(g)}')
    for line in summarize_class_folds(meta):
        log('  ' + line)
    return meta


def _write_segmentation(src: Path, out: Path, items, mask_files, sizes, points, digests, repaired, extra, seed,
                        num_folds, snap_tolerance, mask_dir: Path, near_dup_distance, log) -> dict:
    stems = [s for s, _, _ in items]
    groups, identical = group_identical_images(stems, digests, extra['labels'])
    for g in identical:
        log(f'  identical images kept in one chunk: {", ".join(g)}')
    writer = DatasetWriter(out, dataset='all_idb1', classes=TARGET, converter='all_idb1', source=str(src),
                           seed=seed, num_folds=num_folds, near_dup_distance=near_dup_distance, log=log,
                           options={'task': 'segmentation', 'target': TARGET, 'masks': str(mask_dir), 'seed': seed,
                                    'snap_tolerance': snap_tolerance})
    _reset_points_dir(out)
    for i, (stem, img_path, lab) in enumerate(items, 1):
        # Read again rather than kept from the check: 108 whole fields would need ~2 GB.
        cells, _ = read_binary_mask(mask_files[stem], snap_tolerance)
        writer.add(stem, read_image(img_path), cells, group=groups[stem], stratum=lab,
                   repaired_pixels=repaired[stem])
        _write_points(out, stem, lab, *sizes[stem], points[stem])
        if i % PROGRESS_EVERY == 0 or i == len(items):
            log(f'  [{i}/{len(items)}] written')
    folds = writer.finalize({**extra, 'target': TARGET, 'masks_source': str(mask_dir), 'identical_images': identical,
                             'image_sizes': dict(Counter(f'{w}x{h}' for w, h in sizes.values()).most_common())})
    for line in summarize_folds(folds, writer.strata):
        log('  ' + line)
    return load_meta(out)
