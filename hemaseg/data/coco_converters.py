"""Converters of the WBC datasets into COCO instance segmentation (layout: :mod:`hemaseg.data.coco_writer`).

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).

* :func:`convert_wbc_coco`: Zheng et al. 2018 WBC dataset1 + dataset2 (spec 000 §5.2),
  one cell per image.
* :func:`convert_labelme` / :func:`convert_coco`: ALL-IDB1 and BCCD prepared as in
  spec 001 §5 from the user's own WBC annotations (LabelMe polygons or a COCO file).
* :func:`convert_raabin`: Raabin-WBC (spec 001 §5) per-cell images with
  nucleus/cytoplasm masks.

Spec 001 §5 preparation and the choices we made where it is silent:

* ALL-IDB1, ``crop=512, stride=256``: "cropped with a sliding window to 512×512
  sub-images, and the stride is set to 256", crops without WBCs discarded. Boundary
  crops are not described. **Choice:** window starts ``0, 256, …`` plus one window
  flush with the right/bottom border, so every pixel is covered without padding
  (2592x1944 -> 10 x 7 windows); an image smaller than the crop is zero-padded
  bottom/right. How WBCs cut by a crop border were labelled is not stated.
  **Choice:** a cut WBC is kept if at least ``min_visible`` (default 0.5) of its
  pixels lie inside the crop, else dropped (and counted); a crop is kept if it keeps
  at least one WBC. Crops of one source image share a split group, so they never
  straddle train/val/test (the leakage risk the spec notes).
* BCCD, ``pad_square=True``: "zero-padded to square (640×640)"; where the padding
  goes is not stated. **Choice:** bottom/right, so the annotation coordinates stay
  unchanged.
* The final "reshaped to 550 × 550" is left to the training pipeline's Resize:
  the files keep native resolution.
* Split: the paper's single 7:1:2 split is replaced by the project's 6:2:2 k-fold
  scheme (:mod:`hemaseg.data.splits`; ``num_folds`` 5 by default, 3 for the MSFF-SegNeXt
  paper's three folds). Every converter takes ``near_dup_distance``: output images whose
  64-bit dHashes differ in at most that many bits share a split group (None or negative:
  off; :mod:`hemaseg.data.duplicates`). The combined ALL-IDB1 + BCCD set is made by
  converting each dataset and concatenating them in the training config.
* WBC subtypes are not distinguished (one class): map every WBC label to one
  category with ``label_map``.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from .annotations import IMAGE_EXTS, Region, find_annotated_images, input_dirs, load_labelme_regions, safe_stem
from .coco_validate import load_json, quiet_coco, segmentation_problems
from .coco_writer import CocoWriter
from .duplicates import NEAR_DUP_DISTANCE
from .crops import crop_with_padding, paste_mask
from .io import DatasetError, PathLike, read_image
from .splits import NUM_FOLDS
from .wbc_zheng2018 import RAW_LEVELS, SUBSETS, find_subset_dir, load_labeled_pair, pair_files

PROGRESS_EVERY = 50
ROLES = ('background', 'cytoplasm', 'nucleus')  # labels 0, 1, 2 of the grey-level masks
Log = Callable[[str], None]


# --------------------------------------------------------------------------- single-cell masks

def cell_instances(labels: np.ndarray, with_nucleus: bool) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """Instances of a 0/1/2 (background/cytoplasm/nucleus) label map of one WBC.

    ``cell`` = the largest 8-connected component of ``labels > 0`` (a stray blob of
    another cell or annotation noise is dropped and noted); with ``with_nucleus``
    also ``nucleus`` = nucleus pixels inside that cell, kept as one instance even if
    lobulated into several pieces. Returns ``(instances, notes)``.
    """
    n, comp, stats, _ = cv2.connectedComponentsWithStats((labels > 0).astype(np.uint8), connectivity=8)
    if n <= 1:
        return [], ['no foreground in the mask; image has no instance']
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + int(np.argmax(areas))
    notes = []
    if n > 2:
        notes.append(f'{n - 1} connected components in the mask; kept the largest ({int(areas.max())} px), '
                     f'dropped {int(areas.sum() - areas.max())} px')
    cell = comp == keep
    instances = [('cell', cell)]
    if with_nucleus:
        nucleus = cell & (labels == 2)
        if nucleus.any():
            instances.append(('nucleus', nucleus))
        else:
            notes.append('cell has no nucleus pixel; no nucleus instance')
    return instances, notes


def _categories(with_nucleus: bool) -> list[str]:
    return ['cell', 'nucleus'] if with_nucleus else ['cell']


def _finish(writer: CocoWriter, t0: float, what: str, log: Log, **extra) -> dict:
    summary = writer.finalize()
    log(f'done in {time.perf_counter() - t0:.1f} s: {what} -> {writer.out}')
    return {**summary, **extra, 'seconds': time.perf_counter() - t0}


def convert_wbc_coco(src: PathLike, out: PathLike, subsets: Sequence[str] = SUBSETS, with_nucleus: bool = False,
                     segm_format: str = 'polygon', seed: int = 0, snap_tolerance: int = 60,
                     num_folds: int = NUM_FOLDS, near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                     log: Log = print) -> dict:
    """Zheng 2018 WBC -> COCO: one ``cell`` (nucleus + cytoplasm) per image, optional ``nucleus``.

    Input layout, stems (``d1_NNN`` / ``d2_NNN``), subset strata and stray-grey-level
    snapping are those of :func:`hemaseg.data.wbc_zheng2018.convert_wbc_zheng2018`.
    """
    t0 = time.perf_counter()
    src = Path(src).resolve()
    if not subsets or len(set(subsets)) != len(subsets) or set(subsets) - set(SUBSETS):
        raise DatasetError(f'subsets must be distinct names from {SUBSETS}, got {list(subsets)}')
    pairs = {sub: pair_files(find_subset_dir(src, sub)) for sub in subsets}
    total = sum(len(v) for v in pairs.values())
    log(f'converting {total} images from {src} ({", ".join(f"{s}: {len(v)}" for s, v in pairs.items())}) '
        f'-> {out} [COCO, categories {_categories(with_nucleus)}, {segm_format}]')
    writer = CocoWriter(out, categories=_categories(with_nucleus), dataset='wbc_zheng2018',
                        converter='coco_instances wbc', source=str(src), seed=seed, segm_format=segm_format,
                        num_folds=num_folds, near_dup_distance=near_dup_distance, log=log,
                        options={'subsets': list(subsets), 'with_nucleus': with_nucleus, 'segm_format': segm_format,
                                 'seed': seed, 'snap_tolerance': snap_tolerance})
    repaired: dict[str, int] = {}
    done = 0
    for sub, items in pairs.items():
        for name, img_path, mask_path in items:
            stem = f'd{sub[-1]}_{name}'
            image, labels, n_rep = load_labeled_pair(img_path, mask_path, RAW_LEVELS['3class'], snap_tolerance,
                                                     stem, log)
            if n_rep:
                repaired[stem] = n_rep
            instances, notes = cell_instances(labels, with_nucleus)
            writer.add(stem, image, instances, stratum=sub, source_file=str(img_path.relative_to(src)), notes=notes)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == total:
                log(f'  [{done}/{total}]')
    writer.extra_meta['repaired_pixels'] = repaired
    return _finish(writer, t0, f'{total} images', log, repaired_pixels=repaired)


# --------------------------------------------------------------------------- Raabin-WBC

def parse_values(spec: str) -> dict[int, str]:
    """``'0:background,128:cytoplasm,255:nucleus'`` -> ``{0: 'background', ...}`` (roles: :data:`ROLES`)."""
    values: dict[int, str] = {}
    for item in filter(None, (s.strip() for s in spec.split(','))):
        value, sep, role = item.partition(':')
        if not sep or not value.strip().isdigit() or not 0 <= int(value) <= 255 or role.strip() not in ROLES:
            raise DatasetError(f'bad mask value mapping {item!r} in {spec!r}; expected VALUE:ROLE with VALUE 0-255 '
                               f'and ROLE one of {ROLES}')
        if int(value) in values:
            raise DatasetError(f'mask value {int(value)} is mapped twice in {spec!r}')
        values[int(value)] = role.strip()
    if 'background' not in values.values() or len(set(values.values())) < 2:
        raise DatasetError(f'mask value mapping {spec!r} needs a background value and a cell value')
    return values


def _files_by_key(root: Path, what: str) -> dict[tuple[str, ...], Path]:
    """Image files under ``root`` (recursive) keyed by their relative path without extension."""
    found: dict[tuple[str, ...], Path] = {}
    for p in sorted(root.rglob('*')):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
            key = p.relative_to(root).with_suffix('').parts
            if key in found:
                raise DatasetError(f'two {what} files for {"/".join(key)}: {found[key].name}, {p.name}')
            found[key] = p
    if not found:
        raise DatasetError(f'no {what} files ({", ".join(IMAGE_EXTS)}) under {root}')
    return found


def convert_raabin(images: PathLike, masks: PathLike, out: PathLike,
                   values: Mapping[int, str] | str = '0:background,128:cytoplasm,255:nucleus',
                   with_nucleus: bool = False, segm_format: str = 'polygon', seed: int = 0, snap_tolerance: int = 0,
                   num_folds: int = NUM_FOLDS, near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                   log: Log = print) -> dict:
    """Raabin-WBC (or any per-cell image + grey-level mask folder pair) -> COCO.

    Expected layout (the Raabin-WBC ground-truth release holds per-cell 575x575 images
    and nucleus/cytoplasm masks in per-class folders; the folder names of a download
    may differ, so the two roots are arguments)::

        <images>/[<Class>/]<name>.<jpg|png|bmp|tif>
        <masks>/[<Class>/]<name>.<png|bmp|tif>     same relative path and name

    Masks are grey levels mapped by ``values`` (``VALUE:ROLE``, roles background,
    cytoplasm, nucleus; default as the Zheng WBC masks). Other levels are errors
    unless within ``snap_tolerance`` (default 0: Raabin's coding is not verified here,
    so a mismatch must fail loudly, naming the values found). Instances as
    :func:`cell_instances`. Stems: the relative path joined with '_'; the first folder
    (e.g. the WBC class, or Train/Test) is the split stratum when every file has one.
    """
    t0 = time.perf_counter()
    img_root, mask_root = Path(images).resolve(), Path(masks).resolve()
    for what, d in (('image', img_root), ('mask', mask_root)):
        if not d.is_dir():
            raise DatasetError(f'{what} folder {d} does not exist')
    mapping = parse_values(values) if isinstance(values, str) else dict(values)
    if with_nucleus and 'nucleus' not in mapping.values():
        raise DatasetError(f'--with-nucleus needs a nucleus value in the mask mapping {mapping}')
    value_to_label = {v: ROLES.index(role) for v, role in mapping.items()}
    imgs, msks = _files_by_key(img_root, 'image'), _files_by_key(mask_root, 'mask')
    problems = [f'image {imgs[k]} has no mask {mask_root.joinpath(*k)}.*' for k in sorted(imgs.keys() - msks.keys())]
    problems += [f'mask {msks[k]} has no image {img_root.joinpath(*k)}.*' for k in sorted(msks.keys() - imgs.keys())]
    if problems:
        raise DatasetError(f'{len(problems)} unpaired file(s):\n  ' + '\n  '.join(problems[:50]))
    keys = sorted(imgs)
    stems = {k: safe_stem('_'.join(k)) for k in keys}
    if clash := [s for s, n in Counter(stems.values()).items() if n > 1]:
        raise DatasetError(f'file names collide after making them file-name safe: {clash[:10]}')
    stratified = all(len(k) > 1 for k in keys)
    log(f'converting {len(keys)} cell images from {img_root} (masks {mask_root}) -> {out} '
        f'[COCO, categories {_categories(with_nucleus)}, {segm_format}'
        + (f', strata {sorted({k[0] for k in keys})}]' if stratified else ']'))
    writer = CocoWriter(out, categories=_categories(with_nucleus), dataset='raabin_wbc',
                        converter='coco_instances raabin', source=str(img_root), seed=seed, segm_format=segm_format,
                        num_folds=num_folds, near_dup_distance=near_dup_distance, log=log,
                        options={'masks': str(mask_root), 'values': {str(v): r for v, r in mapping.items()},
                                 'with_nucleus': with_nucleus, 'segm_format': segm_format, 'seed': seed,
                                 'snap_tolerance': snap_tolerance})
    repaired: dict[str, int] = {}
    for done, key in enumerate(keys, 1):
        stem = stems[key]
        image, labels, n_rep = load_labeled_pair(imgs[key], msks[key], value_to_label, snap_tolerance, stem, log)
        if n_rep:
            repaired[stem] = n_rep
        instances, notes = cell_instances(labels, with_nucleus)
        writer.add(stem, image, instances, stratum=key[0] if stratified else None,
                   source_file=str(imgs[key].relative_to(img_root)), notes=notes)
        if done % PROGRESS_EVERY == 0 or done == len(keys):
            log(f'  [{done}/{len(keys)}]')
    writer.extra_meta['repaired_pixels'] = repaired
    return _finish(writer, t0, f'{len(keys)} images', log, repaired_pixels=repaired)


# --------------------------------------------------------------------------- ALL-IDB1 / BCCD

def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Sliding-window starts along one axis: ``0, stride, …`` plus one flush with the end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def _full_mask(region: Region, hw: tuple[int, int]) -> tuple[np.ndarray, int]:
    """``region`` pasted into an all-false ``hw`` mask; also the number of its pixels cut off."""
    mask = np.zeros(hw, bool)
    lost = paste_mask(mask, region.mask, region.top, region.left)
    return mask, lost


def _region_from_mask(mask: np.ndarray, origin: str) -> Region:
    ys, xs = np.nonzero(mask)
    top, left = int(ys.min()), int(xs.min())
    return Region(top, left, mask[top:int(ys.max()) + 1, left:int(xs.max()) + 1].copy(), origin)


class _Exporter:
    """Turns annotated source images into output images: as is, padded square or cropped."""

    def __init__(self, writer: CocoWriter, crop: int | None, stride: int | None, pad_square: bool,
                 min_visible: float) -> None:
        if crop is not None and pad_square:
            raise DatasetError('choose either cropping (ALL-IDB1) or square padding (BCCD), not both')
        if crop is not None and (crop < 8 or stride is None or not 0 < stride <= crop):
            raise DatasetError(f'crop size {crop} / stride {stride}: need crop >= 8 and 0 < stride <= crop')
        if not 0 <= min_visible <= 1:
            raise DatasetError(f'min_visible must be in [0, 1], got {min_visible}')
        self.writer, self.crop, self.stride, self.pad_square = writer, crop, stride, pad_square
        self.min_visible = min_visible
        self.dropped_parts = 0
        self.empty_crops = 0

    def export(self, stem: str, image: np.ndarray, regions: list[tuple[str, Region]], source_file: str,
               notes: list[str]) -> int:
        """Write the output image(s) of one source image; return how many were written."""
        h, w = image.shape[:2]
        if self.crop is None:
            out_img = image
            if self.pad_square and h != w:
                side = max(h, w)
                out_img = crop_with_padding(image, 0, 0, side)  # image at the top-left: zeros go bottom/right
                notes = notes + [f'zero-padded {w}x{h} -> {side}x{side} (bottom {side - h}, right {side - w} px)']
            hw = out_img.shape[:2]
            instances = [(cat, _full_mask(r, hw)[0]) for cat, r in regions]
            self.writer.add(stem, out_img, instances, source_file=source_file, notes=notes)
            return 1
        written = 0
        for top in window_starts(h, self.crop, self.stride):
            for left in window_starts(w, self.crop, self.stride):
                instances, cut_notes = [], []
                for cat, r in regions:
                    moved = Region(r.top - top, r.left - left, r.mask, r.origin)
                    mask, lost = _full_mask(moved, (self.crop, self.crop))
                    total = int(r.mask.sum())
                    if total - lost <= 0:
                        continue
                    if (total - lost) < self.min_visible * total:
                        self.dropped_parts += 1
                        cut_notes.append(f'dropped {r.origin}: only {total - lost}/{total} px inside the crop')
                        continue
                    instances.append((cat, mask))
                if not instances:
                    self.empty_crops += 1
                    continue
                self.writer.add(f'{stem}_y{top}_x{left}', crop_with_padding(image, top, left, self.crop), instances,
                                group=stem, source_file=f'{source_file} [y {top}:{top + self.crop}, '
                                f'x {left}:{left + self.crop}]', notes=notes + cut_notes)
                written += 1
        return written


def _category_of(label_map: Mapping[str, str] | None) -> Callable[[str], str | None]:
    """Label -> category (None: ignore). Without a map every label is its own category."""
    if label_map is None:
        return lambda label: label
    lowered = {k.strip().lower(): v for k, v in label_map.items()}
    return lambda label: lowered.get(label.strip().lower())


def _map_categories(label_map: Mapping[str, str] | None) -> list[str] | None:
    return list(dict.fromkeys(label_map.values())) if label_map is not None else None


def _log_export_summary(exporter: _Exporter, ignored: Counter, skipped: list[str], log: Log) -> None:
    if ignored:
        log('  ignored annotations by label: ' + ', '.join(f'{k!r}: {v}' for k, v in sorted(ignored.items())))
    if skipped:
        log(f'  {len(skipped)} image(s) without usable annotation, skipped: {", ".join(skipped[:50])}')
    if exporter.crop is not None:
        log(f'  crops without any kept WBC discarded: {exporter.empty_crops}; WBC parts dropped at crop borders '
            f'(< {exporter.min_visible:g} visible): {exporter.dropped_parts}')


def convert_labelme(images: PathLike, out: PathLike, annotations: PathLike | None = None,
                    label_map: Mapping[str, str] | None = None, dataset: str = 'labelme', segm_format: str = 'polygon',
                    crop: int | None = None, stride: int | None = None, pad_square: bool = False,
                    min_visible: float = 0.5, seed: int = 0, bounds_tolerance: float = 3.0,
                    num_folds: int = NUM_FOLDS, near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                    log: Log = print) -> dict:
    """Images + LabelMe polygons (one polygon per cell) -> COCO, optionally cropped or padded.

    ``annotations`` holds ``<stem>.json`` per image (default: the image folder).
    ``label_map`` maps LabelMe labels (case-insensitive) to categories; labels not in
    it are ignored and counted. Without it every label is its own category. Images
    without annotation or without any mapped shape are listed and skipped. Polygons are
    rasterised as in the SN-AM converter (``cv2.fillPoly``, vertices at pixel centres,
    boundary pixels included) and then re-encoded. Cropping/padding: module doc.
    """
    t0 = time.perf_counter()
    img_dir, ann_dir = input_dirs(images, annotations)
    image_files, ann_files, safe = find_annotated_images(img_dir, ann_dir, ('.json',))
    category_of = _category_of(label_map)
    options = {'annotations': str(ann_dir), 'label_map': dict(label_map) if label_map else None,
               'segm_format': segm_format, 'crop': crop, 'stride': stride, 'pad_square': pad_square,
               'min_visible': min_visible, 'seed': seed, 'bounds_tolerance': bounds_tolerance}
    writer = CocoWriter(out, categories=_map_categories(label_map), dataset=dataset, converter='coco_instances labelme',
                        source=str(img_dir), seed=seed, segm_format=segm_format, num_folds=num_folds,
                        near_dup_distance=near_dup_distance, log=log,
                        options=options)
    exporter = _Exporter(writer, crop, stride, pad_square, min_visible)
    log(f'converting {len(image_files)} images from {img_dir} (LabelMe: {ann_dir}) -> {out}')
    ignored: Counter = Counter()
    skipped: list[str] = []
    for n, (stem, img_path) in enumerate(image_files.items(), 1):
        if stem not in ann_files:
            skipped.append(img_path.name)
            continue
        image = read_image(img_path)
        found, ign = load_labelme_regions(ann_files[stem], image.shape[:2], lambda lb: category_of(lb) is not None,
                                          bounds_tolerance)
        ignored += ign
        regions = [(category_of(label), r) for label, r in found]
        if not regions:
            skipped.append(img_path.name)
            continue
        k = exporter.export(safe[stem], image, regions, img_path.name, [])
        log(f'  [{n}/{len(image_files)}] {img_path.name}: {len(regions)} instance(s), {k} output image(s)')
    _log_export_summary(exporter, ignored, skipped, log)
    return _finish(writer, t0, f'{len(image_files) - len(skipped)} source images', log,
                   ignored=dict(ignored), skipped=skipped)


def _coco_regions(coco, img: dict, category_of: Callable[[str], str | None], cat_names: Mapping[int, str],
                  bounds_tolerance: float, ignored: Counter, notes: list[str]) -> Iterator[tuple[str, Region]]:
    for ann in coco.imgToAnns.get(img['id'], []):
        name = cat_names[ann['category_id']]
        category = category_of(name)
        if category is None:
            ignored[name] += 1
            continue
        if ann.get('iscrowd', 0):
            notes.append(f'crowd annotation {ann["id"]} ({name}) skipped')
            continue
        if problems := segmentation_problems(ann.get('segmentation'), img['height'], img['width'], bounds_tolerance):
            raise DatasetError(f'image {img["file_name"]}: annotation {ann["id"]}: ' + '; '.join(problems))
        mask = coco.annToMask(ann).astype(bool)
        if not mask.any():
            notes.append(f'annotation {ann["id"]} ({name}) covers no pixel; skipped')
            continue
        yield category, _region_from_mask(mask, f'annotation {ann["id"]} of {img["file_name"]}')


def convert_coco(json_path: PathLike, images: PathLike, out: PathLike, category_map: Mapping[str, str] | None = None,
                 dataset: str = 'coco', segm_format: str = 'polygon', crop: int | None = None,
                 stride: int | None = None, pad_square: bool = False, min_visible: float = 0.5, seed: int = 0,
                 bounds_tolerance: float = 3.0, num_folds: int = NUM_FOLDS,
                 near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                 log: Log = print) -> dict:
    """A user's COCO file (polygons or RLE) -> re-encoded, validated COCO with the project's splits.

    ``images`` is the folder the ``file_name`` entries are relative to.
    ``category_map`` maps category names (case-insensitive) to output categories;
    unmapped ones are ignored and counted; without it all categories are kept, in
    the file's order. Crowd annotations are skipped (noted); a malformed segmentation
    (polygon < 3 points or more than ``bounds_tolerance`` px outside the image, corrupt
    RLE) is an error naming the image. Cropping/padding: module doc.
    """
    t0 = time.perf_counter()
    json_path, img_root = Path(json_path).resolve(), Path(images).resolve()
    data = load_json(json_path, 'COCO file')
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ('images', 'annotations',
                                                                                     'categories')):
        raise DatasetError(f'COCO file {json_path} needs "images", "annotations" and "categories" lists')
    try:
        coco = quiet_coco(data)
        cat_names = {c['id']: str(c['name']) for c in data['categories']}
        files = {img['id']: img['file_name'] for img in data['images']}
        unknown = [a['id'] for a in data['annotations'] if a['image_id'] not in files or a['category_id'] not in cat_names]
    except (KeyError, TypeError) as e:
        raise DatasetError(f'COCO file {json_path} lacks a required field: {e!r}') from e
    if unknown:
        raise DatasetError(f'COCO file {json_path}: annotations {unknown[:20]} refer to unknown images/categories')
    category_of = _category_of(category_map)
    categories = _map_categories(category_map) or list(dict.fromkeys(cat_names.values()))
    stems = {i: safe_stem(Path(f).with_suffix('').as_posix().replace('/', '_')) for i, f in files.items()}
    if clash := [s for s, n in Counter(stems.values()).items() if n > 1]:
        raise DatasetError(f'image file names collide after making them file-name safe: {clash[:10]}')
    options = {'images': str(img_root), 'category_map': dict(category_map) if category_map else None,
               'segm_format': segm_format, 'crop': crop, 'stride': stride, 'pad_square': pad_square,
               'min_visible': min_visible, 'seed': seed, 'bounds_tolerance': bounds_tolerance}
    writer = CocoWriter(out, categories=categories, dataset=dataset, converter='coco_instances coco',
                        source=str(json_path), seed=seed, segm_format=segm_format, num_folds=num_folds,
                        near_dup_distance=near_dup_distance, log=log,
                        options=options)
    exporter = _Exporter(writer, crop, stride, pad_square, min_visible)
    log(f'converting {len(files)} images of {json_path} (images under {img_root}) -> {out}')
    ignored: Counter = Counter()
    skipped: list[str] = []
    for n, img in enumerate(data['images'], 1):
        image = read_image(img_root / img['file_name'])
        if image.shape[:2] != (img['height'], img['width']):
            raise DatasetError(f'image {img["file_name"]} is {image.shape[1]}x{image.shape[0]} but {json_path} says '
                               f'{img["width"]}x{img["height"]} (WxH)')
        notes: list[str] = []
        regions = list(_coco_regions(coco, img, category_of, cat_names, bounds_tolerance, ignored, notes))
        if not regions:
            skipped.append(img['file_name'])
            continue
        k = exporter.export(stems[img['id']], image, regions, img['file_name'], notes)
        log(f'  [{n}/{len(files)}] {img["file_name"]}: {len(regions)} instance(s), {k} output image(s)')
    _log_export_summary(exporter, ignored, skipped, log)
    return _finish(writer, t0, f'{len(files) - len(skipped)} source images', log,
                   ignored=dict(ignored), skipped=skipped)


def parse_label_map(items: Sequence[str] | None) -> dict[str, str] | None:
    """``['wbc=cell', 'WBC=cell']`` -> ``{'wbc': 'cell', 'WBC': 'cell'}``; None/empty -> None."""
    if not items:
        return None
    mapping = {}
    for item in items:
        label, sep, category = item.partition('=')
        if not sep or not label.strip() or not category.strip():
            raise DatasetError(f'bad label mapping {item!r}; expected LABEL=CATEGORY')
        mapping[label.strip()] = category.strip()
    return mapping

