"""Converter for C-NMC 2019, the ISBI 2019 challenge on normal vs malignant B-ALL cells
(Gupta & Gupta, TCIA, doi:10.7937/tcia.2019.dc64i46r): single cells, 450x450, on black background.

Input layout (the TCIA / Kaggle download ``C-NMC_Leukemia/``; ``src`` is that folder or its parent)::

    <src>/training_data/fold_{0,1,2}/all/UID_<subject>_<image>_<cell>_all.bmp     malignant cells
    <src>/training_data/fold_{0,1,2}/hem/UID_H<subject>_<image>_<cell>_hem.bmp    normal cells
    <src>/validation_data/C-NMC_test_prelim_phase_data/<n>.bmp                    preliminary test set
    <src>/validation_data/C-NMC_test_prelim_phase_data_labels.csv                 its labels
    <src>/testing_data/C-NMC_test_final_phase_data/<n>.bmp                        final test set: unlabelled,
                                                                                  not converted

Where this comes from (the data are not on this machine): the challenge-era code of a
participant (github.com/jprellberg/isbi2019cancer, README and ``dataset.py``) documents
``fold_k/{all,hem}/UID_(H?\\d+)_(\\d+)_(\\d+)_(all|hem).bmp`` with the second field the
subject (``H`` = healthy donor), and the label CSV as ``Patient_ID,new_names,labels`` rows
such as ``UID_57_29_1_all.bmp,1.bmp,1`` (labels 1 = all, 0 = hem; ``Patient_ID`` is the
original file name, ``new_names`` the file in the prelim folder). Public training scripts
read exactly the paths above; a Hugging Face mirror (dwb2023/cnmc-leukemia-2019) lists
``fold_0/all/UID_1_1_1_all.bmp`` with subject 1. One public script reads an older naming,
``C-NMC_training_data/`` and ``C-NMC_test_prelim_phase_data/{C-NMC_test_prelim_phase_data,
…_labels.csv}``; those names are looked for too (with the same fold_k/class folders assumed).

Output: the classification layout of :mod:`hemaseg.data.classification` with classes
``('hem', 'all')``, so the label index equals the CSV label (0 hem, 1 all). Training cells
keep their names (``all/UID_11_10_1_all.bmp``); prelim cells are named by their
``Patient_ID`` (``all/UID_57_29_1_all.bmp``), so the subject stays visible. ``sources.csv``
lists ``key,subject,official_fold,source`` for every image (official_fold ``fold_k`` or
``prelim_test``), the basis of subject-level evaluation.

Split modes:

* ``'grouped'`` (default): the project's 5-chunk rotation, stratified by class, every subject
  one group, so no subject is on both sides of a split.
* ``'official'``: the official folds are the chunks (fold_0 … fold_2, and the prelim test
  set as a fourth chunk with ``include_prelim_test``); fold k tests official chunk k,
  validates on chunk k+1 and trains on the rest, i.e. on ONE official fold when there are
  three chunks (two with the prelim set). A subject (or an identical image) found in two
  official folds would leak and is an error naming it.

Without ``include_prelim_test`` only training_data is converted. Errors name the files:
folders other than ``fold_<k>`` or ``all``/``hem``, empty label folders, file names without
a subject id or whose suffix contradicts their folder, CSV rows whose file is missing or
whose label contradicts their ``Patient_ID``.
"""
from __future__ import annotations

import csv
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .annotations import IMAGE_EXTS
from .classification import PROGRESS_EVERY, ClassificationWriter, summarize_class_folds
from .duplicates import NEAR_DUP_DISTANCE, check_near_dup_distance
from .io import DatasetError, PathLike
from .layout import load_meta
from .splits import NUM_FOLDS

CLASSES = ('hem', 'all')  # label index == the CSV label
SPLIT_MODES = ('grouped', 'official')
NAME_RE = re.compile(r'^UID_([A-Za-z]*\d+)_(\d+)_(\d+)_(all|hem)$')
FOLD_RE = re.compile(r'^fold_(\d+)$')
TRAIN_DIRS = ('training_data', 'C-NMC_training_data')
PRELIM = 'C-NMC_test_prelim_phase_data'
PRELIM_CSV = f'{PRELIM}_labels.csv'
PRELIM_CHUNK = 'prelim_test'
CSV_COLUMNS = ('Patient_ID', 'new_names', 'labels')


def subject_of(name: str) -> tuple[str, str] | None:
    """``(subject id, class)`` from a C-NMC file name such as ``UID_H10_43_1_hem.bmp``; None if it does not parse."""
    m = NAME_RE.match(Path(name).stem)
    return (m.group(1), m.group(4)) if m else None


def find_root(src: Path) -> tuple[Path, Path]:
    """``(root, training folder)``: ``src`` or ``src/C-NMC_Leukemia`` holding ``training_data/``."""
    if not src.is_dir():
        raise DatasetError(f'input folder {src} does not exist')
    for root in (src, src / 'C-NMC_Leukemia'):
        for name in TRAIN_DIRS:
            if (root / name).is_dir():
                return root, root / name
    raise DatasetError(f'no training folder ({" or ".join(TRAIN_DIRS)}) in {src} or {src / "C-NMC_Leukemia"}; '
                       'expected the C-NMC_Leukemia layout training_data/fold_k/{all,hem}/*.bmp')


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith('.'))


def list_training(train_dir: Path) -> tuple[list[dict], list[str]]:
    """One record ``{path, name, cls, subject, fold}`` per training image, and the ignored non-image files."""
    folds = {}
    for p in _visible(train_dir):
        if p.is_dir():
            m = FOLD_RE.match(p.name)
            if m is None:
                raise DatasetError(f'unknown folder {p}: expected only fold_<k> folders in {train_dir}')
            folds[int(m.group(1))] = p
    if not folds:
        raise DatasetError(f'no fold_<k> folders in {train_dir}')
    records, bad, mismatch, ignored = [], [], [], []
    for k, fold_dir in sorted(folds.items()):
        found = {}
        for p in _visible(fold_dir):
            if not p.is_dir():
                ignored.append(str(p.relative_to(train_dir)))
            elif p.name not in CLASSES:
                raise DatasetError(f'unknown label folder {p}: expected {" and ".join(CLASSES)} in {fold_dir}')
            else:
                found[p.name] = p
        if missing := [c for c in CLASSES if c not in found]:
            raise DatasetError(f'{fold_dir} has no {" / ".join(missing)} folder (expected {" and ".join(CLASSES)})')
        for cls, class_dir in sorted(found.items()):
            n = 0
            for p in _visible(class_dir):
                if not p.is_file() or p.suffix.lower() not in IMAGE_EXTS:
                    ignored.append(str(p.relative_to(train_dir)))
                    continue
                n += 1
                parsed = subject_of(p.name)
                if parsed is None:
                    bad.append(str(p))
                elif parsed[1] != cls:
                    mismatch.append(str(p))
                else:
                    records.append({'path': p, 'name': p.name, 'cls': cls, 'subject': parsed[0], 'fold': f'fold_{k}'})
            if n == 0:
                raise DatasetError(f'label folder {class_dir} holds no images ({", ".join(IMAGE_EXTS)})')
    if bad:
        raise DatasetError(f'{len(bad)} file name(s) do not match UID_<subject>_<image>_<cell>_<all|hem>, so the '
                           f'subject is unknown: {bad[:10]}')
    if mismatch:
        raise DatasetError(f'{len(mismatch)} file(s) lie in the other class folder than their name says: '
                           f'{mismatch[:10]}')
    return records, ignored


def find_prelim(root: Path) -> tuple[Path, Path]:
    """``(labels CSV, image folder)`` of the preliminary test set (current or older layout)."""
    for parent in (root / 'validation_data', root / PRELIM, root):
        csv_path, img_dir = parent / PRELIM_CSV, parent / PRELIM
        if csv_path.is_file():
            if not img_dir.is_dir():
                raise DatasetError(f'found {csv_path} but not its image folder {img_dir}')
            return csv_path, img_dir
    raise DatasetError(f'no {PRELIM_CSV} in {root / "validation_data"} (or {root / PRELIM}, {root}); '
                       'it is needed for --include-prelim-test')


def list_prelim(root: Path, log: Callable[[str], None] = print) -> list[dict]:
    """One record per row of the prelim labels CSV, checked against its images (all problems in one error)."""
    csv_path, img_dir = find_prelim(root)
    with open(csv_path, newline='', encoding='utf-8-sig') as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]] if rows else []
    if any(c not in header for c in CSV_COLUMNS):
        raise DatasetError(f'{csv_path}: expected the columns {",".join(CSV_COLUMNS)}, got header {header}')
    col = {c: header.index(c) for c in CSV_COLUMNS}
    records, problems = [], []
    for i, row in enumerate(rows[1:], 2):
        if not any(v.strip() for v in row):
            continue
        if len(row) < len(header):
            problems.append(f'line {i}: {len(row)} fields, expected {len(header)}')
            continue
        pid, new, lab = (row[col[c]].strip() for c in CSV_COLUMNS)
        parsed = subject_of(pid)
        if parsed is None:
            problems.append(f'line {i}: Patient_ID {pid!r} is not UID_<subject>_<image>_<cell>_<all|hem>.bmp')
        elif lab not in ('0', '1'):
            problems.append(f'line {i}: label {lab!r} is not 0 (hem) or 1 (all)')
        elif CLASSES[int(lab)] != parsed[1]:
            problems.append(f'line {i}: label {lab} ({CLASSES[int(lab)]}) contradicts Patient_ID {pid}')
        elif not (img_dir / new).is_file():
            problems.append(f'line {i}: {img_dir / new} does not exist')
        else:
            records.append({'path': img_dir / new, 'name': Path(pid).stem + Path(new).suffix, 'cls': parsed[1],
                            'subject': parsed[0], 'fold': PRELIM_CHUNK})
    for what in ('name', 'path'):
        if dup := sorted(str(v) for v, n in Counter(r[what] for r in records).items() if n > 1):
            problems.append(f'several rows name {dup[:5]}')
    if problems:
        raise DatasetError(f'{csv_path}: {len(problems)} problem(s):\n  ' + '\n  '.join(problems[:20]))
    if not records:
        raise DatasetError(f'{csv_path} lists no images')
    listed = {r['path'].name for r in records}
    if unlisted := sorted(p.name for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.name not in listed):
        log(f'warning: {len(unlisted)} image(s) in {img_dir} have no row in {csv_path.name} and are left out, '
            f'e.g. {unlisted[:5]}')
    return records


def _check_official_subjects(records: list[dict]) -> None:
    folds_of: dict[str, set[str]] = {}
    for r in records:
        folds_of.setdefault(r['subject'], set()).add(r['fold'])
    if shared := {s: sorted(f) for s, f in folds_of.items() if len(f) > 1}:
        raise DatasetError(f'{len(shared)} subject(s) appear in several official folds, so the official split would '
                           'leak between train and test: '
                           + ', '.join(f'{s} {f}' for s, f in sorted(shared.items())[:10])
                           + '; use --split-mode grouped')


def convert_c_nmc_2019(src: PathLike, out: PathLike, split_mode: str = 'grouped', num_folds: int | None = None,
                       include_prelim_test: bool = False, seed: int = 0,
                       near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                       log: Callable[[str], None] = print) -> dict:
    """Convert C-NMC 2019 into the classification layout in ``out`` (see the module doc); return meta.json.

    ``num_folds``: default 5 for ``'grouped'``, the number of official chunks (3, or 4 with the
    prelim set) for ``'official'``. The source is listed and checked before ``out`` is touched.
    ``near_dup_distance``: dHash threshold of near-duplicate cells kept in one chunk (None or
    negative: off); in ``'official'`` mode pairs in two official chunks cannot be joined and are
    reported as a warning and in meta.json instead.
    """
    t0 = time.perf_counter()
    if split_mode not in SPLIT_MODES:
        raise DatasetError(f'unknown split mode {split_mode!r}; choose one of {SPLIT_MODES}')
    root, train_dir = find_root(Path(src).resolve())
    records, ignored = list_training(train_dir)
    official = sorted({r['fold'] for r in records})
    if include_prelim_test:
        records += list_prelim(root, log)
    chunk_names = official + ([PRELIM_CHUNK] if include_prelim_test else [])
    if split_mode == 'official':
        if len(chunk_names) < 3:
            raise DatasetError(f'--split-mode official needs at least 3 chunks, found {chunk_names} in {train_dir}')
        num_folds = len(chunk_names) if num_folds is None else num_folds
        if not 1 <= num_folds <= len(chunk_names):
            raise DatasetError(f'--split-mode official rotates over the {len(chunk_names)} official chunks '
                               f'{chunk_names}, so the number of folds must be 1-{len(chunk_names)}, got {num_folds}')
        _check_official_subjects(records)
    num_folds = NUM_FOLDS if num_folds is None else num_folds
    if (root / 'testing_data').is_dir():
        log(f'note: {root / "testing_data"} (the final test set) is unlabelled and is not converted')
    if ignored:
        log(f'  ignoring {len(ignored)} non-image file(s), e.g. {ignored[:3]}')
    per_chunk = {c: Counter(r['cls'] for r in records if r['fold'] == c) for c in chunk_names}
    log(f'converting {len(records)} cells of {len({r["subject"] for r in records})} subjects from {root} -> {out} '
        f'[split mode {split_mode}, {num_folds} folds] ('
        + ', '.join(f'{c}: ' + '/'.join(f'{n[k]} {k}' for k in CLASSES) for c, n in per_chunk.items()) + ')')

    writer = ClassificationWriter(out, dataset='c_nmc_2019', classes=CLASSES, converter='c_nmc_2019',
                                  source=str(root), seed=seed, num_folds=num_folds,
                                  near_dup_distance=near_dup_distance, log=log,
                                  options={'split_mode': split_mode, 'include_prelim_test': include_prelim_test,
                                           'seed': seed})
    keys = []
    for i, r in enumerate(records, 1):
        keys.append(writer.add(r['cls'], r['name'], r['path'], group=f'subject_{r["subject"]}'))
        if i % PROGRESS_EVERY == 0 or i == len(records):
            log(f'  [{i}/{len(records)}]')
    with open(Path(out) / 'sources.csv', 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['key', 'subject', 'official_fold', 'source'])
        w.writerows([k, r['subject'], r['fold'], r['path'].relative_to(root).as_posix()]
                    for k, r in sorted(zip(keys, records), key=lambda kr: kr[0]))
    subjects = {c: len({r['subject'] for r in records if r['cls'] == c}) for c in CLASSES}
    extra = {'split_mode': split_mode,
             'official_folds': {c: {k: n[k] for k in CLASSES} for c, n in per_chunk.items()},
             'subjects': subjects, 'sources_file': 'sources.csv',
             'grouping': 'subjects (second field of UID_<subject>_<image>_<cell>_<class>.bmp) and identical images'
                         + ('' if check_near_dup_distance(near_dup_distance) is None else ' and near-duplicates')}
    chunk_of = ({k: chunk_names.index(r['fold']) for k, r in zip(keys, records)} if split_mode == 'official'
                else None)
    writer.finalize(extra, chunk_of=chunk_of)
    meta = load_meta(out)
    log(f'done in {time.perf_counter() - t0:.1f} s: {meta["counts"]["all"]}, subjects {subjects}, '
        f'{len(meta["identical_images"])} set(s) of identical images, sizes {meta["image_sizes"]}')
    for line in summarize_class_folds(meta):
        log('  ' + line)
    return meta
