"""Writer of COCO instance-segmentation data sets (:class:`CocoWriter`).

Paper: Luo et al., Front. Oncol. 13, 2023, doi:10.3389/fonc.2023.1223353 (docs/papers/001_dsff_ddam_yolact.md).
Paper: Palanisami & Nachimuthu, IJARCS 16(6), 2025, http://www.ijarcs.info (docs/papers/004_refined_mask_rcnn.md).

The instance models of spec 001 (DSFF/DDAM YOLACT, §5-6) and spec 004 (refined
Mask R-CNN, §5-6) are trained and scored with COCO-style mask AP, so every
instance dataset of the project is exported as COCO json by :class:`CocoWriter`::

    <out>/images/<stem>.png                            RGB image (BGR on disk, as cv2 writes it)
    <out>/annotations/all.json                         every image
    <out>/annotations/fold{k}_{train,val,test}.json    6:2:2, k = 0 … num_folds-1 (hemaseg.data.splits)
    <out>/meta.json                                    dataset, categories, options, folds (their number),
                                                       counts per split, groups / strata / source files /
                                                       notes per stem, near_duplicates

The folds are the first ``num_folds`` of the 5-chunk rotation: 5 (the default) tests every
image exactly once; 3 is the paper's three-fold CV, whose files are byte for byte folds 0-2
of the 5-fold output (same seeded chunks). Near-duplicate images (64-bit dHash within
``near_dup_distance`` bits; :mod:`hemaseg.data.duplicates`) are joined into the split groups
by default, as in :class:`hemaseg.data.layout.DatasetWriter`.

Image and annotation ids are the same in all files (ids of ``all.json``; a fold
file is a subset), so predictions on any split can be scored against either.
``file_name`` is ``<stem>.png`` relative to ``<out>/images``. Masks are encoded by
:mod:`hemaseg.data.rle` (exact polygons or RLE) and every file written is checked by
:mod:`hemaseg.data.coco_validate` before the data set is marked complete.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .annotations import safe_stem
from .coco_validate import check_coco_data
from .duplicates import (NEAR_DUP_DISTANCE, check_near_dup_distance, dhash_or_none, find_near_duplicates,
                         join_labelled_groups)
from .io import DatasetError, PathLike, write_image
from .layout import prepare_output_dir
from .rle import SEGM_FORMATS, Encoded, encode_mask
from .splits import INCOMPLETE, NUM_FOLDS, SPLIT_NAMES, check_num_folds, make_folds


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
    ``num_folds``: folds 0 … num_folds-1 of the 5-chunk rotation (5: every image tested
    once; 3: the paper's three-fold CV), see :mod:`hemaseg.data.splits`. ``near_dup_distance``:
    images whose dHashes differ in at most this many bits share a split group (None or
    negative: off), merged with the given groups and only within a stratum.
    """

    def __init__(self, out: PathLike, *, categories: Sequence[str] | None, dataset: str, converter: str,
                 source: str, options: Mapping[str, Any], seed: int = 0, segm_format: str = 'polygon',
                 num_folds: int = NUM_FOLDS, near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                 log: Callable[[str], None] = print) -> None:
        check_num_folds(num_folds)  # this and the checks below come before _prepare touches the output folder
        self.near_dup_distance = check_near_dup_distance(near_dup_distance)
        if segm_format not in SEGM_FORMATS:
            raise DatasetError(f'segm_format must be one of {SEGM_FORMATS}, got {segm_format!r}')
        if categories is not None and (not categories or len(set(categories)) != len(categories)):
            raise DatasetError(f'categories must be distinct names, got {list(categories)}')
        self.out = Path(out)
        self.categories = list(categories) if categories is not None else None
        self.dataset, self.converter, self.source = dataset, converter, source
        self.options, self.seed, self.segm_format, self.log = dict(options), seed, segm_format, log
        self.num_folds = num_folds
        self.records: list[_Record] = []
        self.groups: dict[str, str] = {}
        self.strata: dict[str, str] = {}
        self.source_files: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {}
        self.hashes: dict[str, int | None] = {}  # stem -> dHash (None: flat), for near-duplicates
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
        self.hashes[stem] = dhash_or_none(image_rgb)
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
        near = find_near_duplicates(self.hashes, self.near_dup_distance, self.strata or None)
        for line in near.report():
            self.log(line if line.startswith('warning') else '  ' + line)
        groups = join_labelled_groups(stems, self.groups or None, near.groups) or {}
        try:
            folds = make_folds(stems, seed=self.seed, groups=groups or None, strata=self.strata or None,
                               num_folds=self.num_folds)
        except DatasetError as e:
            raise near.split_error(e) from e
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
            counts[key] = check_coco_data(data, path, self.out / 'images', size_cache=sizes)

        summary = {'num_images': len(stems), 'categories': categories, 'instances': counts['all']['per_category'],
                   'splits': [{split: {'images': counts[f'fold{k}_{split}']['images'],
                                       'instances': counts[f'fold{k}_{split}']['per_category']}
                               for split in SPLIT_NAMES} for k in range(len(folds))],
                   'notes': dict(sorted(self.notes.items())), 'folds': folds}
        meta = {'dataset': self.dataset, 'task': 'instance segmentation (COCO)', 'categories': categories,
                'segm_format': self.segm_format, 'num_images': len(stems),
                'num_instances': summary['instances'], 'folds': self.num_folds, 'splits': summary['splits'],
                'source': self.source, 'converter': self.converter, 'options': self.options,
                **self.extra_meta, 'notes': summary['notes'], 'near_duplicates': near.meta()}
        for key, mapping in (('groups', groups), ('strata', self.strata), ('source_files', self.source_files)):
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
