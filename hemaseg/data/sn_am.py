"""Converter for SN-AM (TCIA, Gupta & Gupta 2019) B-ALL images into nucleus-centred crops.

Spec 000 §5.1: the paper locates every lymphoblast from the dataset's cell
annotations, cuts a 350x350 crop centred on its nucleus, fills with black where the
crop leaves the image, and segments the nucleus (binary mask). 30 images gave 127
crops; 6:2:2 split with three-fold CV (here: 5 folds by default, ``num_folds=3`` for the
paper's three; :mod:`hemaseg.data.splits`).

Accepted input
--------------
``images``: a folder of full microscope images (``.bmp .png .jpg .jpeg .tif .tiff``).
Per image ``<stem>.<ext>``, its nuclei are given in the annotation folder
(``annotations``, default: the image folder) as either

(a) ``<stem>.json`` in LabelMe format: every shape whose label equals ``label``
    (default ``nucleus``, compared case-insensitively) is one nucleus polygon
    (``shape_type`` ``polygon``); shapes with other labels (e.g. ``cell``) are
    ignored and counted; or
(b) ``<stem>.png`` instance mask (only in a separate annotation folder, since in the
    image folder a PNG is an image): 0 = background, each positive value = one
    nucleus; 8- or 16-bit, same size as the image.

Output (project format, see :mod:`hemaseg.data.layout`): for nucleus k (0-based, in
annotation order; instance masks by ascending id) of image ``<stem>`` the crop
``<stem>_c<k>``, ``crop_size`` square, centred on the nucleus centroid with zero
padding. Its mask is 1 on that nucleus only: other nuclei that fall in the crop are
background, because the task is the nucleus of the centred cell
(``keep_other_nuclei=True`` labels them too). Splits are grouped by source image,
so crops of one image never straddle train/val/test.

Errors name the file: a polygon with fewer than 3 points, zero area, or points more
than ``bounds_tolerance`` pixels outside the image; an annotation whose image is
missing; a nucleus with no pixel inside the image; a size mismatch. An image without
annotation (or without any nucleus) is only warned about and listed at the end.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from .annotations import Region, find_annotated_images, input_dirs, load_instance_regions, load_labelme_regions
from .crops import crop_with_padding, paste_mask
from .duplicates import NEAR_DUP_DISTANCE
from .io import DatasetError, PathLike, read_image
from .layout import DatasetWriter, summarize_folds
from .splits import NUM_FOLDS


def load_labelme_nuclei(path: PathLike, image_hw: tuple[int, int], label: str = 'nucleus',
                        bounds_tolerance: float = 3.0) -> tuple[list[Region], Counter]:
    """Nuclei of a LabelMe JSON (shapes labelled ``label``, case-insensitive), and a Counter
    of the labels of the ignored shapes."""
    regions, ignored = load_labelme_regions(path, image_hw, lambda name: name.lower() == label.lower(),
                                            bounds_tolerance)
    return [r for _, r in regions], ignored


def convert_sn_am(images: PathLike, out: PathLike, annotations: PathLike | None = None, crop_size: int = 350,
                  label: str = 'nucleus', keep_other_nuclei: bool = False, seed: int = 0,
                  bounds_tolerance: float = 3.0, num_folds: int = NUM_FOLDS,
                  near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                  log: Callable[[str], None] = print) -> dict:
    """Cut nucleus-centred crops from ``images`` into ``out`` (see module doc); return a summary.

    ``near_dup_distance``: crops whose dHashes are this close (e.g. the same field saved as two
    source images) join one split group with all crops of their source images (None or negative: off).
    """
    t0 = time.perf_counter()
    img_dir, ann_dir = input_dirs(images, annotations)
    if crop_size < 8:
        raise DatasetError(f'crop size {crop_size} is too small')

    ann_exts = ('.json',) if ann_dir == img_dir else ('.json', '.png')
    image_files, ann_files, safe = find_annotated_images(img_dir, ann_dir, ann_exts)

    log(f'cutting {crop_size}x{crop_size} nucleus-centred crops from {len(image_files)} images in {img_dir} '
        f'(annotations: {ann_dir}) -> {out}')
    writer = DatasetWriter(out, dataset='sn_am', classes='nucleus', converter='sn_am', source=str(img_dir),
                           seed=seed, num_folds=num_folds, near_dup_distance=near_dup_distance, log=log,
                           options={'annotations': str(ann_dir), 'crop_size': crop_size, 'label': label,
                                    'keep_other_nuclei': keep_other_nuclei, 'seed': seed,
                                    'bounds_tolerance': bounds_tolerance})
    unannotated, no_nuclei, truncated = [], [], []
    ignored: Counter = Counter()
    crops_per_image: dict[str, int] = {}
    half = crop_size // 2
    for n_img, (stem, img_path) in enumerate(image_files.items(), 1):
        ann = ann_files.get(stem)
        if ann is None:
            log(f'  warning: {img_path.name} has no annotation ({stem}.json'
                + (f' or {stem}.png' if '.png' in ann_exts else '') + f' in {ann_dir}); skipped')
            unannotated.append(img_path.name)
            continue
        image = read_image(img_path)
        if ann.suffix.lower() == '.json':
            nuclei, ign = load_labelme_nuclei(ann, image.shape[:2], label, bounds_tolerance)
            ignored += ign
        else:
            nuclei = load_instance_regions(ann, image.shape[:2])
        if not nuclei:
            log(f'  warning: {ann.name} has no {label!r} nucleus; {img_path.name} skipped')
            no_nuclei.append(ann.name)
            continue
        for k, nuc in enumerate(nuclei):
            cy, cx = nuc.centroid()
            top, left = math.floor(cy + 0.5) - half, math.floor(cx + 0.5) - half
            crop = crop_with_padding(image, top, left, crop_size)
            mask = np.zeros((crop_size, crop_size), bool)
            for other in (nuclei if keep_other_nuclei else [nuc]):
                lost = paste_mask(mask, other.mask, other.top - top, other.left - left)
                if other is nuc and lost:
                    log(f'  warning: {nuc.origin} is larger than the crop; {lost} px cut off')
                    truncated.append(f'{safe[stem]}_c{k}')
            writer.add(f'{safe[stem]}_c{k}', crop, mask.astype(np.uint8), group=safe[stem])
        crops_per_image[stem] = len(nuclei)
        log(f'  [{n_img}/{len(image_files)}] {img_path.name}: {len(nuclei)} crop(s)')
    if not writer.stems:
        raise DatasetError(f'no nucleus annotations found for any image in {img_dir} (label {label!r})')
    folds = writer.finalize()

    elapsed = time.perf_counter() - t0
    log(f'done in {elapsed:.1f} s: {len(writer.stems)} crops from {len(crops_per_image)} images')
    if ignored:
        log('  ignored shapes by label: ' + ', '.join(f'{k!r}: {v}' for k, v in sorted(ignored.items())))
    if unannotated:
        log(f'  {len(unannotated)} image(s) without annotation, skipped: {", ".join(unannotated)}')
    if no_nuclei:
        log(f'  {len(no_nuclei)} annotation(s) without nuclei, skipped: {", ".join(no_nuclei)}')
    if truncated:
        log(f'  {len(truncated)} nucleus/nuclei larger than the crop (cut off): {", ".join(truncated)}')
    for line in summarize_folds(folds):
        log('  ' + line)
    return {'num_crops': len(writer.stems), 'crops_per_image': crops_per_image, 'unannotated': unannotated,
            'no_nuclei': no_nuclei, 'truncated': truncated, 'ignored_shapes': dict(ignored), 'folds': folds,
            'seconds': elapsed}
