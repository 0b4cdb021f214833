"""Writer of the project's on-disk dataset format (read by the mmseg configs)::

    <out>/images/<stem>.png   RGB image (BGR order on disk, as cv2 writes it), uint8, 3 channels
    <out>/masks/<stem>.png    uint8 label map: 'nucleus' mode 0=background 1=nucleus;
                              'wholecell' mode 0=background 1=cell (nucleus + cytoplasm);
                              '3class' mode 0=background 1=cytoplasm 2=nucleus
    <out>/splits/all.txt      every stem, sorted, one per line
    <out>/splits/fold{k}_{train,val,test}.txt   k = 0 … num_folds-1 (default 5; see hemaseg.data.splits)
    <out>/meta.json           dataset, classes, palette, num_images, folds (their number), source, converter,
                              options, repaired_pixels {stem: n}, groups {stem: id} (if used, or if
                              near-duplicates were joined), strata {stem: id} (if used),
                              near_duplicates (threshold, groups, pairs; see
                              :class:`~hemaseg.data.duplicates.NearDuplicates`) and any
                              converter-specific keys (``extra_meta`` of :meth:`DatasetWriter.finalize`)

A converter creates a :class:`DatasetWriter`, calls :meth:`~DatasetWriter.add` per
sample and :meth:`~DatasetWriter.finalize` at the end. Near-duplicate images (64-bit dHash
within ``near_dup_distance`` bits, :mod:`hemaseg.data.duplicates`) are joined into the
split groups by default, so a field saved or photographed twice stays on one side of every
fold as far as dHash can tell (its limits: :func:`~hemaseg.data.duplicates.dhash`).
"""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .duplicates import (NEAR_DUP_DISTANCE, check_near_dup_distance, dhash_or_none, find_near_duplicates,
                         join_labelled_groups)
from .io import DatasetError, PathLike, write_image, write_mask
from .splits import INCOMPLETE, NUM_FOLDS, SPLIT_NAMES, Fold, check_num_folds, make_folds, write_splits

CLASS_MODES: dict[str, tuple[tuple[str, ...], list[list[int]]]] = {
    'nucleus': (('background', 'nucleus'), [[0, 0, 0], [255, 0, 255]]),
    '3class': (('background', 'cytoplasm', 'nucleus'), [[0, 0, 0], [0, 255, 255], [255, 0, 255]]),
    'wholecell': (('background', 'cell'), [[0, 0, 0], [255, 255, 0]]),
}
_STEM_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')


def class_mode(mode: str) -> tuple[tuple[str, ...], list[list[int]]]:
    """``(classes, palette)`` for ``'nucleus'`` or ``'wholecell'`` (binary) or ``'3class'``."""
    if mode not in CLASS_MODES:
        raise DatasetError(f'unknown classes mode {mode!r}; choose one of {sorted(CLASS_MODES)}')
    return CLASS_MODES[mode]


def load_meta(root: PathLike) -> dict:
    """Read ``<root>/meta.json``."""
    path = Path(root) / 'meta.json'
    if (Path(root) / INCOMPLETE).is_file():
        raise DatasetError(f'{root} holds an unfinished conversion (the converter failed or was stopped); run it again')
    if not path.is_file():
        raise DatasetError(f'{path} does not exist; is {root} a converted dataset?')
    return json.loads(path.read_text(encoding='utf-8'))


def prepare_output_dir(out: Path, replaced: Sequence[str], created: Sequence[str]) -> None:
    """Make ``out`` ready for a converter and mark it incomplete until ``meta.json`` is written.

    An earlier converter output (``meta.json`` or the incomplete marker) has its ``replaced``
    folders and ``meta.json`` removed; any other non-empty folder is refused, so a wrong
    ``--out`` never deletes a user's files.
    """
    if out.exists():
        if not out.is_dir():
            raise DatasetError(f'output {out} exists and is not a folder')
        if (out / 'meta.json').is_file() or (out / INCOMPLETE).is_file():
            for sub in replaced:
                shutil.rmtree(out / sub, ignore_errors=True)
            (out / 'meta.json').unlink(missing_ok=True)
        elif any(out.iterdir()):
            raise DatasetError(f'output folder {out} is not empty and holds no meta.json; '
                               'refusing to write a dataset into it (choose an empty or new folder)')
    for sub in created:
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / INCOMPLETE).write_text('conversion in progress or failed; rerun the converter\n')


class DatasetWriter:
    """Writes samples into ``out`` and, on :meth:`finalize`, the split files and meta.json.

    ``out`` must be absent, empty or a previous output of a converter (it has a
    meta.json or the ``.incomplete`` marker); in the last case its images/, masks/ and splits/ are replaced so no
    stale sample survives. Any other non-empty folder is refused rather than mixed
    into, since the split files must describe exactly what is on disk. meta.json is
    written last, so its presence means "complete"; until then a marker file
    ``.incomplete`` lets the next run recognise and clean a folder left by a failed run.
    ``num_folds``: folds 0 … num_folds-1 of the 5-chunk rotation (5: every image tested
    once; 3: the paper's three-fold CV), see :mod:`hemaseg.data.splits`.
    ``near_dup_distance``: images whose dHashes differ in at most this many bits share a split
    group, merged with the given groups (None or negative: off); only pairs in the same
    stratum are joined (a group must lie in one stratum), others are reported. ``log``
    prints the near-duplicate report.
    """

    def __init__(self, out: PathLike, *, dataset: str, classes: str, converter: str, source: str,
                 options: dict, seed: int = 0, num_folds: int = NUM_FOLDS,
                 near_dup_distance: int | None = NEAR_DUP_DISTANCE, log: Callable[[str], None] = print) -> None:
        check_num_folds(num_folds)  # these checks come before _prepare touches the output folder
        self.near_dup_distance = check_near_dup_distance(near_dup_distance)
        self.log = log
        self.num_folds = num_folds
        self.out = Path(out)
        self.classes, self.palette = class_mode(classes)
        self.dataset, self.converter, self.source = dataset, converter, source
        self.options, self.seed = options, seed
        self.stems: list[str] = []
        self.groups: dict[str, str] = {}
        self.strata: dict[str, str] = {}
        self.repaired: dict[str, int] = {}
        self.hashes: dict[str, int | None] = {}  # stem -> dHash (None: flat), for near-duplicates
        self._prepare()

    def _prepare(self) -> None:
        prepare_output_dir(self.out, replaced=('images', 'masks', 'splits'), created=('images', 'masks'))

    def add(self, stem: str, image_rgb: np.ndarray, mask: np.ndarray, *, group: str | None = None,
            stratum: str | None = None, repaired_pixels: int = 0) -> None:
        """Write one sample. ``mask`` holds class labels (0 .. num_classes-1)."""
        if not _STEM_RE.match(stem):
            raise DatasetError(f'stem {stem!r} is not a safe file name ([A-Za-z0-9._-], no leading dot)')
        if stem in self.repaired:
            raise DatasetError(f'duplicate stem {stem!r}')
        if image_rgb.shape[:2] != mask.shape[:2]:
            raise DatasetError(f'{stem}: image {image_rgb.shape} and mask {mask.shape} differ in size')
        if mask.size and int(mask.max()) >= len(self.classes):
            raise DatasetError(f'{stem}: mask label {int(mask.max())} >= number of classes {len(self.classes)}')
        write_image(self.out / 'images' / f'{stem}.png', image_rgb)
        write_mask(self.out / 'masks' / f'{stem}.png', mask)
        self.stems.append(stem)
        self.hashes[stem] = dhash_or_none(image_rgb)
        self.repaired[stem] = int(repaired_pixels)
        if group is not None:
            self.groups[stem] = str(group)
        if stratum is not None:
            self.strata[stem] = str(stratum)

    def finalize(self, extra_meta: dict | None = None) -> list[Fold]:
        """Make and write the folds and meta.json; return the folds.

        ``extra_meta``: converter-specific keys added to meta.json (they may not replace a standard key).
        Near-duplicate groups are merged into the given groups; when they join nothing, the
        groups, and so the folds, are exactly those without the search.
        """
        for name, mapping in (('group', self.groups), ('stratum', self.strata)):
            if mapping and len(mapping) != len(self.stems):
                raise ValueError(f'every sample or none must have a {name}')
        near = find_near_duplicates(self.hashes, self.near_dup_distance, self.strata or None)
        for line in near.report():
            self.log(line if line.startswith('warning') else '  ' + line)
        groups = join_labelled_groups(self.stems, self.groups or None, near.groups)
        try:
            folds = make_folds(self.stems, seed=self.seed, groups=groups, strata=self.strata or None,
                               num_folds=self.num_folds)
        except DatasetError as e:
            raise near.split_error(e) from e
        write_splits(self.out, self.stems, folds)
        meta = {
            'dataset': self.dataset,
            'classes': list(self.classes),
            'palette': self.palette,
            'num_images': len(self.stems),
            'folds': self.num_folds,
            'source': self.source,
            'converter': self.converter,
            'options': self.options,
            'repaired_pixels': {s: n for s, n in sorted(self.repaired.items()) if n},
        }
        if groups:
            meta['groups'] = dict(sorted(groups.items()))
        if self.strata:
            meta['strata'] = dict(sorted(self.strata.items()))
        meta['near_duplicates'] = near.meta()
        if clash := sorted(set(extra_meta or {}) & set(meta)):
            raise ValueError(f'extra_meta may not replace the standard meta.json keys {clash}')
        meta.update(extra_meta or {})
        with open(self.out / 'meta.json', 'w', encoding='utf-8', newline='\n') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
        (self.out / INCOMPLETE).unlink()
        return folds


def summarize_folds(folds: list[Fold], strata: dict[str, str] | None = None) -> list[str]:
    """Human-readable lines with split sizes per fold (and per stratum, if given)."""
    lines = []
    for k, fold in enumerate(folds):
        parts = []
        for name in SPLIT_NAMES:
            part = f'{name} {len(fold[name])}'
            if strata:
                counts = Counter(strata[s] for s in fold[name])
                part += ' (' + ', '.join(f'{st}: {n}' for st, n in sorted(counts.items())) + ')'
            parts.append(part)
        lines.append(f'fold{k}: ' + ' | '.join(parts))
    return lines
