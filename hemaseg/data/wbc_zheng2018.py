"""Converter for the WBC image datasets of Zheng et al., Micron 2018 (spec 000 §5.2).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

Input layout (as in the authors' release)::

    <src>/dataset1/NNN.bmp  NNN.png    300 images, about 120x120 (sizes vary slightly)
    <src>/dataset2/NNN.bmp  NNN.png    100 images, 300x300

Masks are grey-level PNGs: 0 background (red cells included), 128 cytoplasm,
255 nucleus. Sub-folder names are matched loosely ("Dataset 1", "dataset_1" …) so a
user's own download works unchanged. The paper merges both subsets "for validation";
we do the same by default, with stems ``d1_NNN`` / ``d2_NNN`` and the subset as the
split stratum, so every split keeps the 3:1 ratio.

A few dataset2 masks contain stray grey levels (e.g. 034.png: 2, 7, 25, 42, 44, 45).
They are snapped to the nearest of 0/128/255 when within ``snap_tolerance`` (default
60); the count per stem is printed and stored in meta.json ``repaired_pixels``.
``snap_tolerance=0`` makes them errors.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .duplicates import NEAR_DUP_DISTANCE
from .io import DatasetError, PathLike, check_same_size, map_mask_values, read_image, read_mask
from .layout import DatasetWriter, summarize_folds
from .splits import NUM_FOLDS

SUBSETS = ('dataset1', 'dataset2')
RAW_LEVELS = {'nucleus': {0: 0, 128: 0, 255: 1}, '3class': {0: 0, 128: 1, 255: 2}}
IMAGE_SUFFIX, MASK_SUFFIX = '.bmp', '.png'
PROGRESS_EVERY = 50


def _norm(name: str) -> str:
    return re.sub(r'[\s_-]', '', name.lower())


def find_subset_dir(src: Path, subset: str) -> Path:
    """Folder of ``subset`` under ``src``, tolerating case, spaces, '_' and '-'."""
    if not src.is_dir():
        raise DatasetError(f'input folder {src} does not exist')
    matches = [p for p in sorted(src.iterdir()) if p.is_dir() and _norm(p.name) == _norm(subset)]
    if not matches:
        raise DatasetError(f'no folder for {subset} in {src} (expected e.g. {src / subset})')
    if len(matches) > 1:
        raise DatasetError(f'ambiguous folders for {subset} in {src}: {[p.name for p in matches]}')
    return matches[0]


def pair_files(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, image, mask)`` for every image/mask pair; an unpaired file is an error."""
    images = {p.stem: p for p in folder.iterdir() if p.suffix.lower() == IMAGE_SUFFIX}
    masks = {p.stem: p for p in folder.iterdir() if p.suffix.lower() == MASK_SUFFIX}
    problems = [f'image {images[s]} has no mask {folder / (s + MASK_SUFFIX)}' for s in sorted(images.keys() - masks.keys())]
    problems += [f'mask {masks[s]} has no image {folder / (s + IMAGE_SUFFIX)}' for s in sorted(masks.keys() - images.keys())]
    if problems:
        raise DatasetError(f'{len(problems)} unpaired file(s) in {folder}:\n  ' + '\n  '.join(problems))
    if not images:
        raise DatasetError(f'no {IMAGE_SUFFIX} images in {folder}')
    return [(s, images[s], masks[s]) for s in sorted(images)]


def load_labeled_pair(img_path: Path, mask_path: Path, value_to_label: Mapping[int, int], snap_tolerance: int,
                      stem: str, log: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray, int]:
    """``(image_rgb, labels, repaired_pixels)`` of an image and its grey-level mask.

    Stray grey levels within ``snap_tolerance`` are snapped (see
    :func:`~hemaseg.data.io.map_mask_values`) and logged with ``stem``.
    """
    image = read_image(img_path)
    raw = read_mask(mask_path)
    check_same_size(image, raw, img_path, mask_path)
    snapped: list[tuple[int, int, int]] = []
    labels, repaired = map_mask_values(raw, value_to_label, mask_path, snap_tolerance, snapped)
    if repaired:
        log(f'  {stem}: snapped {repaired} px of stray grey levels in {mask_path}: '
            + ', '.join(f'{v} ({c} px) -> {lv}' for v, c, lv in snapped))
    return image, labels, repaired


def convert_wbc_zheng2018(src: PathLike, out: PathLike, subsets: Sequence[str] = SUBSETS,
                          classes: str = 'nucleus', seed: int = 0, snap_tolerance: int = 60,
                          num_folds: int = NUM_FOLDS, near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                          log: Callable[[str], None] = print) -> dict:
    """Convert ``src`` into the project's format in ``out``; return a summary dict.

    ``classes``: ``'nucleus'`` (0 background incl. cytoplasm, 1 nucleus) or
    ``'3class'`` (0 background, 1 cytoplasm, 2 nucleus). ``num_folds``: 5 (every image
    tested once) or 3 (the paper's three-fold CV), see :mod:`hemaseg.data.splits`.
    ``near_dup_distance``: dHash threshold of near-duplicates kept in one chunk, joined
    within a subset (None or negative: off; :mod:`hemaseg.data.duplicates`).
    """
    t0 = time.perf_counter()
    src = Path(src).resolve()
    if classes not in RAW_LEVELS:
        raise DatasetError(f'unknown classes mode {classes!r}; choose one of {sorted(RAW_LEVELS)}')
    if not subsets or len(set(subsets)) != len(subsets) or set(subsets) - set(SUBSETS):
        raise DatasetError(f'subsets must be distinct names from {SUBSETS}, got {list(subsets)}')
    # Pair everything before writing anything: a missing file fails fast.
    pairs = {sub: pair_files(find_subset_dir(src, sub)) for sub in subsets}
    total = sum(len(v) for v in pairs.values())
    log(f'converting {total} images from {src} ({", ".join(f"{s}: {len(v)}" for s, v in pairs.items())}) '
        f'-> {out} [classes={classes}]')

    writer = DatasetWriter(out, dataset='wbc_zheng2018', classes=classes, converter='wbc_zheng2018',
                           source=str(src), seed=seed, num_folds=num_folds,
                           near_dup_distance=near_dup_distance, log=log,
                           options={'subsets': list(subsets), 'classes': classes, 'seed': seed,
                                    'snap_tolerance': snap_tolerance})
    done = 0
    for sub, items in pairs.items():
        prefix = 'd' + sub[-1]
        for name, img_path, mask_path in items:
            stem = f'{prefix}_{name}'
            image, labels, repaired = load_labeled_pair(img_path, mask_path, RAW_LEVELS[classes], snap_tolerance,
                                                        stem, log)
            writer.add(stem, image, labels, stratum=sub, repaired_pixels=repaired)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == total:
                log(f'  [{done}/{total}]')
    folds = writer.finalize()

    elapsed = time.perf_counter() - t0
    repaired = {s: n for s, n in writer.repaired.items() if n}
    log(f'done in {elapsed:.1f} s: {total} images '
        f'({", ".join(f"{s}: {len(v)}" for s, v in pairs.items())}), '
        f'{sum(repaired.values())} px repaired in {len(repaired)} masks')
    for line in summarize_folds(folds, writer.strata):
        log('  ' + line)
    return {'num_images': total, 'per_subset': {s: len(v) for s, v in pairs.items()},
            'repaired_pixels': repaired, 'folds': folds, 'seconds': elapsed}
