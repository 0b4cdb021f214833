"""6:2:2 train/val/test splits combined with k-fold cross-validation.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

The MSFF-SegNeXt paper (spec 000 §5.1) uses "6:2:2 … according to the random
sampling principle" *and* "three-fold cross-validation" without saying how the two
combine. Our reading: shuffle the items (seeded) and cut them into 5 near-equal
chunks; fold k uses

    test = chunk k,   val = chunk (k + 1) % 5,   train = the other 3 chunks,

so every fold is 6:2:2.

* ``num_folds=5`` (the default) is the full rotation k = 0 … 4: every item is in
  exactly one test split and one val split, so every image is scored once.
* ``num_folds=3`` is the paper's three-fold CV (k = 0, 1, 2): the three test sets
  are disjoint but chunks 3 and 4 are never tested (160 of the 400 WBC images).
  Folds 0-2 are the same in both settings (same chunks), so a 3-fold conversion
  is a prefix of the 5-fold one.

* ``groups`` (stem -> group id): all items of a group land in the same chunk, e.g.
  the crops cut from one SN-AM source image, which would otherwise leak between
  train and test (spec 000 §5.1 notes 127 crops come from only 30 images). Groups
  are placed largest first into the currently smallest chunk, which keeps chunk
  sizes near-equal.
* ``strata`` (stem -> stratum): every stratum is chunked on its own and the chunks
  are merged, so each chunk keeps the strata ratio (e.g. WBC dataset1:dataset2 = 3:1).

Splits depend only on the seed and the sorted stems (NumPy's PCG64 generator), so
they are identical across machines.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .io import DatasetError, PathLike

NUM_CHUNKS = 5
NUM_FOLDS = 5  # default: the full rotation, every chunk tested once
PAPER_NUM_FOLDS = 3  # spec 000 §5.1 "three-fold cross-validation": folds 0-2 only
# --folds help of every converter CLI (argparse help text: no '%' signs)
FOLDS_HELP = (f'number of folds to write, 1-{NUM_CHUNKS}: the data are cut into {NUM_CHUNKS} seeded chunks and '
              f'fold k tests on chunk k, validates on chunk k+1 (chunk 0 for k = {NUM_CHUNKS - 1}) and trains on '
              f'the rest. {NUM_FOLDS} (default): every image is tested exactly once. {PAPER_NUM_FOLDS}: the '
              f"paper's three-fold CV (folds 0-2, identical to those of the default), which never tests "
              f'{NUM_CHUNKS - PAPER_NUM_FOLDS} of the {NUM_CHUNKS} chunks')
SPLIT_NAMES = ('train', 'val', 'test')
INCOMPLETE = '.incomplete'  # marker file in a dataset folder while a conversion runs (or after it failed)

Fold = dict[str, list[str]]


def make_chunks(stems: Sequence[str], num_chunks: int = NUM_CHUNKS, seed: int = 0,
                groups: Mapping[str, Hashable] | None = None,
                strata: Mapping[str, Hashable] | None = None) -> list[list[str]]:
    """Cut ``stems`` into ``num_chunks`` non-empty, near-equal chunks (each sorted).

    Raises :class:`DatasetError` if a chunk would be empty (fewer units than chunks).
    """
    stems = sorted(stems)
    if dup := sorted(s for s, n in Counter(stems).items() if n > 1):
        raise DatasetError(f'duplicate stems: {dup[:10]}')
    for name, mapping in (('groups', groups), ('strata', strata)):
        if mapping is not None:
            missing = [s for s in stems if s not in mapping]
            if missing:
                raise DatasetError(f'{name} gives no value for {len(missing)} stem(s), e.g. {missing[:5]}')

    # A unit is what is placed as a whole: a group, or a single item without groups.
    units: dict[str, list[str]] = {}
    for s in stems:
        units.setdefault(str(groups[s]) if groups is not None else s, []).append(s)
    unit_stratum: dict[str, str] = {}
    for uid, members in units.items():
        found = {str(strata[s]) for s in members} if strata is not None else {''}
        if len(found) > 1:
            raise DatasetError(f'group {uid!r} mixes strata {sorted(found)}; a group must lie in one stratum')
        unit_stratum[uid] = found.pop()

    unit_word = 'groups' if groups is not None else 'items'
    if len(units) < num_chunks:
        raise DatasetError(
            f'cannot split {len(stems)} items' + (f' in {len(units)} groups' if groups is not None else '') +
            f': the 6:2:2 scheme cuts the data into {num_chunks} chunks '
            f'(fold k: test = chunk k, val = chunk k+1, train = the rest), so at least {num_chunks} {unit_word} '
            'are needed or some split would be empty')

    rng = np.random.default_rng(seed)
    chunks: list[list[str]] = [[] for _ in range(num_chunks)]
    for stratum in sorted(set(unit_stratum.values())):
        uids = sorted(u for u in units if unit_stratum[u] == stratum)
        # argsort of uniform doubles rather than rng.permutation: the raw double stream
        # is the part of NumPy's Generator least likely to change between versions.
        uids = [uids[i] for i in np.argsort(rng.random(len(uids)), kind='stable')]
        uids.sort(key=lambda u: -len(units[u]))  # stable: equal sizes keep their random order
        local: list[list[str]] = [[] for _ in range(num_chunks)]
        for u in uids:
            target = min(range(num_chunks), key=lambda c: len(local[c]))
            local[target].extend(units[u])
        # Largest local chunk goes to the globally smallest chunk, so the extras of
        # different strata do not all pile up in chunk 0.
        by_size = sorted(range(num_chunks), key=lambda c: -len(local[c]))
        by_total = sorted(range(num_chunks), key=lambda c: len(chunks[c]))
        for lc, gc in zip(by_size, by_total):
            chunks[gc].extend(local[lc])

    if any(not c for c in chunks):
        raise DatasetError(f'cannot split {len(stems)} items into {num_chunks} non-empty chunks '
                           f'with the given groups/strata (chunk sizes {[len(c) for c in chunks]})')
    return [sorted(c) for c in chunks]


def check_num_folds(num_folds: int, num_chunks: int = NUM_CHUNKS) -> None:
    """Raise :class:`DatasetError` unless ``1 <= num_folds <= num_chunks`` and ``num_chunks >= 3``."""
    if isinstance(num_folds, bool) or not isinstance(num_folds, (int, np.integer)) or \
            not 1 <= num_folds <= num_chunks or num_chunks < 3:
        raise DatasetError(f'number of folds must be an integer from 1 to {num_chunks} (the {num_chunks}-chunk '
                           f'rotation; {PAPER_NUM_FOLDS} = the paper\'s three-fold CV), got {num_folds!r}'
                           + ('' if num_chunks >= 3 else f'; and num_chunks must be >= 3, got {num_chunks}'))


def make_folds(stems: Sequence[str], seed: int = 0, groups: Mapping[str, Hashable] | None = None,
               strata: Mapping[str, Hashable] | None = None, num_folds: int = NUM_FOLDS,
               num_chunks: int = NUM_CHUNKS) -> list[Fold]:
    """Return ``num_folds`` dicts ``{'train', 'val', 'test'} -> sorted stems`` (see module doc).

    Fold k (k < ``num_folds``) tests on chunk k and validates on chunk (k + 1) % ``num_chunks``;
    with ``num_folds == num_chunks`` every stem is tested exactly once.
    """
    check_num_folds(num_folds, num_chunks)
    return folds_from_chunks(make_chunks(stems, num_chunks, seed, groups, strata), num_folds)


def folds_from_chunks(chunks: Sequence[Sequence[str]], num_folds: int) -> list[Fold]:
    """The rotation over given chunks (e.g. a dataset's official folds): fold k tests chunk k,
    validates on chunk (k + 1) % len(chunks) and trains on the rest, k = 0 … num_folds-1."""
    num_chunks = len(chunks)
    check_num_folds(num_folds, num_chunks)
    if empty := [c for c, chunk in enumerate(chunks) if not chunk]:
        raise DatasetError(f'chunk(s) {empty} are empty; every chunk must hold at least one item')
    chunks = [sorted(c) for c in chunks]
    folds = []
    for k in range(num_folds):
        v = (k + 1) % num_chunks
        train = sorted(s for c, chunk in enumerate(chunks) if c not in (k, v) for s in chunk)
        folds.append({'train': train, 'val': chunks[v], 'test': chunks[k]})
    return folds


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.writelines(f'{s}\n' for s in lines)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f'split file {path} does not exist')
    return [ln.strip() for ln in path.read_text(encoding='utf-8').splitlines() if ln.strip()]


def split_file(root: PathLike, fold: int, split: str) -> Path:
    """Path of ``<root>/splits/fold{fold}_{split}.txt``."""
    return Path(root) / 'splits' / f'fold{fold}_{split}.txt'


def write_splits(root: PathLike, stems: Sequence[str], folds: Sequence[Fold]) -> None:
    """Write ``splits/all.txt`` and ``splits/fold{k}_{train,val,test}.txt`` (sorted, one stem a line)."""
    root = Path(root)
    _write_lines(root / 'splits' / 'all.txt', sorted(stems))
    for k, fold in enumerate(folds):
        for name in SPLIT_NAMES:
            _write_lines(split_file(root, k, name), sorted(fold[name]))


def read_splits(root: PathLike) -> tuple[list[str], list[Fold]]:
    """Read ``(all_stems, folds)`` back; folds are found as fold0, fold1, … until one is missing."""
    root = Path(root)
    all_stems = _read_lines(root / 'splits' / 'all.txt')
    folds: list[Fold] = []
    while split_file(root, len(folds), 'train').is_file():
        folds.append({name: _read_lines(split_file(root, len(folds), name)) for name in SPLIT_NAMES})
    if not folds:
        raise DatasetError(f'no fold files ({split_file(root, 0, "train")} etc.) in {root / "splits"}')
    return all_stems, folds


def verify_splits(root: PathLike) -> dict:
    """Check a dataset folder's split files against its images/ and masks/.

    Checks: the conversion finished; every listed stem has ``images/<stem>.png`` and ``masks/<stem>.png``;
    no unlisted image/mask files; no duplicate stems; in every fold the splits are
    non-empty, pairwise disjoint and together cover ``all.txt``; if ``meta.json``
    has ``groups``, no group is shared between two splits of a fold (leakage); its
    ``folds`` count, if given, matches the fold files.
    Raises one :class:`DatasetError` listing all problems; returns split sizes.
    """
    root = Path(root)
    if (root / INCOMPLETE).is_file():
        raise DatasetError(f'{root} holds an unfinished conversion (the converter failed or was stopped); run it again')
    all_stems, folds = read_splits(root)
    problems: list[str] = []

    def listed(items: Sequence[str], limit: int = 10) -> str:
        return ', '.join(items[:limit]) + (f' … ({len(items)} in all)' if len(items) > limit else '')

    all_set = set(all_stems)
    if dup := sorted(s for s, n in Counter(all_stems).items() if n > 1):
        problems.append(f'splits/all.txt has duplicate stems: {listed(dup)}')
    if not all_stems:
        problems.append('splits/all.txt is empty')
    for sub in ('images', 'masks'):
        on_disk = {p.stem for p in (root / sub).glob('*.png')}
        if missing := sorted(all_set - on_disk):
            problems.append(f'{len(missing)} stem(s) have no {sub}/<stem>.png: {listed(missing)}')
        if extra := sorted(on_disk - all_set):
            problems.append(f'{len(extra)} file(s) in {sub}/ are not listed in splits/all.txt: {listed(extra)}')

    meta_path = root / 'meta.json'
    meta = json.loads(meta_path.read_text(encoding='utf-8')) if meta_path.is_file() else {}
    groups = meta.get('groups')
    # A fold count that disagrees with the files means stale or missing fold files: a
    # cross-validation over "every fold on disk" would silently run the wrong number.
    if isinstance(meta.get('folds'), int) and meta['folds'] != len(folds):
        problems.append(f'{meta_path} says folds = {meta["folds"]} but splits/ holds {len(folds)} '
                        f'(fold0 … fold{len(folds) - 1})')
    for k, fold in enumerate(folds):
        seen: dict[str, str] = {}
        for name in SPLIT_NAMES:
            stems = fold[name]
            if not stems:
                problems.append(f'{split_file(root, k, name)} is empty')
            for s in stems:
                if s in seen:
                    problems.append(f'fold {k}: stem {s} is in both {seen[s]} and {name}')
                seen[s] = name
        if unknown := sorted(set(seen) - all_set):
            problems.append(f'fold {k}: stems not in all.txt: {listed(unknown)}')
        if uncovered := sorted(all_set - set(seen)):
            problems.append(f'fold {k}: stems in no split: {listed(uncovered)}')
        if groups:
            split_of_group: dict[str, str] = {}
            for s, name in seen.items():
                g = str(groups.get(s, s))
                if split_of_group.setdefault(g, name) != name:
                    problems.append(f'fold {k}: group {g} is in both {split_of_group[g]} and {name} (leakage)')
    if problems:
        raise DatasetError(f'invalid splits in {root}:\n  ' + '\n  '.join(dict.fromkeys(problems)))
    return {'num_images': len(all_stems),
            'folds': [{name: len(fold[name]) for name in SPLIT_NAMES} for fold in folds]}


def report_ready(root: PathLike) -> dict:
    """Verify a converted dataset's splits (:func:`verify_splits`) and say it is ready: the last step of
    every converter command line."""
    report = verify_splits(root)
    print(f'splits verified; dataset ready in {root}')
    return report
