"""Image-classification datasets in MMPretrain's ``CustomDataset`` layout, and the class-per-folder converter.

Output layout (read by ``mmpretrain.datasets.CustomDataset`` with ``data_prefix='images'``
and ``ann_file='splits/fold{k}_{split}.txt'``; its loader splits each line at the last
space into file and label)::

    <out>/images/<class>/<file>     the source files, byte for byte (decoded once to check them)
    <out>/splits/all.txt            every sample, sorted: ``<class>/<file> <label index>``
    <out>/splits/fold{k}_{train,val,test}.txt   same line format, k = 0 … num_folds-1
    <out>/meta.json                 task 'classification', classes (label index = position), num_images,
                                    folds, source, converter, options, counts {'all': {class: n},
                                    'folds': [{split: {class: n}}]}, image_sizes {'WxH': n},
                                    identical_images [[key, ...]], near_duplicates (threshold, groups,
                                    pairs: :class:`~hemaseg.data.duplicates.NearDuplicates`), groups
                                    {key: id} (members of groups of two or more only; every other key is
                                    its own group), grouping (how groups were formed) and, when nothing
                                    identifies the patient, leakage_warning

``<file>`` keeps any sub-folder path under the class folder. Splits are the project's
5-chunk rotation (:mod:`hemaseg.data.splits`: fold k tests chunk k, validates on chunk
k+1), stratified by class. Groups keep items in one chunk: byte/pixel-identical images
always, near-duplicates (the same field photographed twice with a small shift, a
re-saved JPEG: 64-bit dHash within ``near_dup_distance`` bits, joined transitively;
:mod:`hemaseg.data.duplicates`) unless switched off, and patients/slides when a
``group_regex`` extracts an id from the path. Near-duplicates in two classes cannot
share a chunk of a class-stratified split; they are reported, not joined. Files are
copied rather than re-encoded so lossy JPEGs are not compressed a second time; every one
is decoded once so a corrupt file fails the conversion, naming it, instead of a training
run hours later.

Class-per-folder input (:func:`convert_class_folders`): ``<src>/<class>/…/*.{bmp,png,jpg,jpeg,tif,tiff}``.
Image files are searched **recursively** under each class folder, because datasets often
keep one sub-folder per patient or slide, which a ``group_regex`` such as
``'^[^/]+/([^/]+)/'`` can then turn into split groups. Hidden files and folders (name
starting with '.') are skipped; other non-image files are counted and reported.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .annotations import IMAGE_EXTS
from .duplicates import (NEAR_DUP_DISTANCE, NearDuplicates, check_near_dup_distance, dhash_or_none,
                         find_near_duplicates, identical_groups, merge_groups, pixel_digest)
from .io import DatasetError, PathLike, read_image
from .layout import load_meta, prepare_output_dir
from .splits import (INCOMPLETE, NUM_FOLDS, SPLIT_NAMES, Fold, check_num_folds, folds_from_chunks, make_folds,
                     split_file)

PROGRESS_EVERY = 200
LEAKAGE_WARNING = ('no patient grouping: nothing given identifies the patient (or slide) of an image, so images of '
                   'one patient may fall on both sides of a split and scores may be optimistic; say so next to any '
                   'result (byte/pixel-identical images, and near-duplicates unless switched off, are still kept '
                   'together)')


def _check_name(name: str, what: str) -> None:
    # CustomDataset strips each annotation line and splits it at the last space, so names
    # with surrounding blanks or line breaks would be read back wrong.
    if not name or name != name.strip() or any(c in name for c in '\r\n\t') or name.startswith('.'):
        raise DatasetError(f'{what} {name!r} cannot be listed in a split file (empty, leading dot, '
                           'surrounding blanks, tabs or line breaks); rename it')


class ClassificationWriter:
    """Copies images into ``<out>/images/<class>/`` and, on :meth:`finalize`, writes splits and meta.json.

    ``out`` is handled as by :class:`~hemaseg.data.layout.DatasetWriter`: absent, empty or a
    previous converter output (its images/ and splits/ are replaced); ``.incomplete`` marks
    it until meta.json is written. ``classes`` fixes the label order (index = label).
    ``near_dup_distance``: images whose dHashes differ in at most this many bits are kept in
    one chunk (None or negative: only identical images); ``log`` prints the report.
    """

    def __init__(self, out: PathLike, *, dataset: str, classes: Sequence[str], converter: str, source: str,
                 options: dict, seed: int = 0, num_folds: int = NUM_FOLDS,
                 near_dup_distance: int | None = NEAR_DUP_DISTANCE, log: Callable[[str], None] = print) -> None:
        check_num_folds(num_folds)  # these checks come before the output folder is touched
        self.near_dup_distance = check_near_dup_distance(near_dup_distance)
        self.log = log
        classes = list(classes)
        if not classes or len(set(classes)) != len(classes):
            raise DatasetError(f'classes must be distinct and non-empty, got {classes}')
        for c in classes:
            _check_name(c, 'class name')
            if '/' in c or '\\' in c:
                raise DatasetError(f'class name {c!r} may not contain a path separator')
        self.out = Path(out)
        self.classes = classes
        self.dataset, self.converter, self.source, self.options = dataset, converter, source, options
        self.seed, self.num_folds = seed, num_folds
        self.class_of: dict[str, str] = {}  # key '<class>/<file>' -> class
        self.origin: dict[str, Path] = {}
        self.digests: dict[str, str] = {}
        self.hashes: dict[str, int | None] = {}  # key -> dHash (None: flat), for near-duplicates
        self.user_groups: dict[str, str] = {}
        self.sizes: Counter = Counter()
        self._folded: dict[str, str] = {}  # case-folded key -> key (duplicates on case-insensitive disks)
        prepare_output_dir(self.out, replaced=('images', 'splits'), created=('images',))

    def add(self, class_name: str, name: str, src: PathLike, *, group: str | None = None) -> str:
        """Check that ``src`` decodes as an 8-bit image, copy it to ``images/<class_name>/<name>``; return the key.

        ``name`` may hold sub-folders ('/'); ``group`` (e.g. a patient id) keeps items in one chunk.
        """
        src = Path(src)
        if class_name not in self.classes:
            raise DatasetError(f'{src}: class {class_name!r} is not one of {self.classes}')
        for part in name.split('/'):  # also refuses '..' (leading dot)
            _check_name(part, f'file name of {src}:')
        key = f'{class_name}/{name}'
        if (other := self._folded.get(key.casefold())) is not None:
            raise DatasetError(f'duplicate name: {src} and {self.origin[other]} both become images/{key}'
                               + ('' if other == key else f' / images/{other} (equal ignoring case)'))
        image = read_image(src)  # DatasetError naming the file if it is corrupt or not 8-bit
        dst = self.out / 'images' / key
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        self._folded[key.casefold()] = key
        self.class_of[key], self.origin[key] = class_name, src
        self.digests[key] = pixel_digest(image)
        self.hashes[key] = dhash_or_none(image)
        self.sizes[f'{image.shape[1]}x{image.shape[0]}'] += 1
        if group is not None:
            self.user_groups[key] = str(group)
        return key

    def _groups(self, chunk_of: Mapping[str, int] | None = None
                ) -> tuple[dict[str, str], list[list[str]], NearDuplicates]:
        """``(groups, identical, near)``: merged groups (identical images + near-duplicates + user groups)
        after checking that no identical images or user group span two classes.

        Near-duplicates are joined only within a class (and within a given chunk of
        ``chunk_of``): a group must lie in one stratum, and given chunks cannot be changed.
        """
        keys = sorted(self.class_of)
        if self.user_groups and len(self.user_groups) != len(keys):
            raise ValueError('every sample or none must have a group')
        identical = identical_groups(self.digests)
        problems = ['identical images in different classes: ' + ', '.join(
                        f'{self.origin[k]} ({self.class_of[k]})' for k in same)
                    for same in identical if len({self.class_of[k] for k in same}) > 1]
        by_user_group: dict[str, list[str]] = {}
        for k, g in self.user_groups.items():
            by_user_group.setdefault(g, []).append(k)
        problems += [f'group {g!r} spans classes {sorted({self.class_of[k] for k in ks})} (e.g. '
                     f'{", ".join(sorted(ks)[:4])}); a group must lie in one class: include the class in the '
                     'group regex if ids are numbered per class'
                     for g, ks in sorted(by_user_group.items()) if len({self.class_of[k] for k in ks}) > 1]
        if problems:
            raise DatasetError(f'{len(problems)} grouping problem(s):\n  ' + '\n  '.join(problems[:20]))
        if chunk_of is None:
            near = find_near_duplicates(self.hashes, self.near_dup_distance, self.class_of, 'classes')
        else:
            near = find_near_duplicates(self.hashes, self.near_dup_distance,
                                        {k: (self.class_of[k], chunk_of.get(k)) for k in keys},
                                        'classes or given chunks', num_chunks=None)
        groupings = [identical, near.groups] + ([self.user_groups] if self.user_groups else [])
        return merge_groups(keys, groupings), identical, near

    def _given_chunks(self, keys: Sequence[str], groups: Mapping[str, str], chunk_of: Mapping[str, int]
                      ) -> list[list[str]]:
        if missing := [k for k in keys if k not in chunk_of]:
            raise ValueError(f'chunk_of gives no chunk for {len(missing)} key(s), e.g. {missing[:5]}')
        num_chunks = max(chunk_of[k] for k in keys) + 1
        chunks: list[list[str]] = [[] for _ in range(num_chunks)]
        chunks_of_group: dict[str, set[int]] = {}
        for k in keys:
            chunks[chunk_of[k]].append(k)
            chunks_of_group.setdefault(groups[k], set()).add(chunk_of[k])
        if split := {g: cs for g, cs in chunks_of_group.items() if len(cs) > 1}:
            members = {g: sorted(k for k in keys if groups[k] == g) for g in split}
            raise DatasetError(f'{len(split)} group(s) lie in more than one of the given chunks, so they would leak '
                               'between train and test: ' + '; '.join(
                                   f'{g} in chunks {sorted(cs)} (e.g. {", ".join(members[g][:3])})'
                                   for g, cs in sorted(split.items())[:10]))
        return chunks

    def finalize(self, extra_meta: dict | None = None, chunk_of: Mapping[str, int] | None = None) -> list[Fold]:
        """Make and write the folds (stratified by class, grouped) and meta.json; return the folds.

        ``chunk_of`` (key -> chunk index 0 … C-1, e.g. a dataset's official folds) replaces the
        seeded chunks: the rotation runs over these C chunks (:func:`~hemaseg.data.splits.folds_from_chunks`);
        a group (identical images, user group) spread over two chunks is an error; near-duplicates
        in two given chunks are reported (meta.json ``near_duplicates.unjoined_pairs``), not joined.
        """
        keys = sorted(self.class_of)
        if empty := [c for c in self.classes if c not in self.class_of.values()]:
            raise DatasetError(f'class(es) {empty} have no images')
        groups, identical, near = self._groups(chunk_of)
        for line in near.report():
            self.log(line if line.startswith('warning') else '  ' + line)
        if chunk_of is None:
            try:
                folds = make_folds(keys, seed=self.seed, groups=groups, strata=self.class_of,
                                   num_folds=self.num_folds)
            except DatasetError as e:
                raise near.split_error(e) from e
        else:
            folds = folds_from_chunks(self._given_chunks(keys, groups, chunk_of), self.num_folds)
        label = {c: i for i, c in enumerate(self.classes)}

        def write(path: Path, items: Sequence[str]) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, 'w', encoding='utf-8', newline='\n') as f:
                f.writelines(f'{k} {label[self.class_of[k]]}\n' for k in sorted(items))

        write(self.out / 'splits' / 'all.txt', keys)
        for k, fold in enumerate(folds):
            for name in SPLIT_NAMES:
                write(split_file(self.out, k, name), fold[name])

        def per_class(items: Sequence[str]) -> dict[str, int]:
            counts = Counter(self.class_of[k] for k in items)
            return {c: counts[c] for c in self.classes}

        group_size = Counter(groups.values())
        meta = {
            'dataset': self.dataset,
            'task': 'classification',
            'classes': self.classes,
            'num_images': len(keys),
            'folds': self.num_folds,
            'source': self.source,
            'converter': self.converter,
            'options': self.options,
            'counts': {'all': per_class(keys),
                       'folds': [{name: per_class(fold[name]) for name in SPLIT_NAMES} for fold in folds]},
            'image_sizes': dict(self.sizes.most_common()),
            'identical_images': identical,
            'near_duplicates': near.meta(),
            'groups': {k: g for k, g in groups.items() if group_size[g] > 1},
        }
        if clash := sorted(set(extra_meta or {}) & set(meta)):
            raise ValueError(f'extra_meta may not replace the standard meta.json keys {clash}')
        meta.update(extra_meta or {})
        with open(self.out / 'meta.json', 'w', encoding='utf-8', newline='\n') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
        (self.out / INCOMPLETE).unlink()
        return folds


def read_classification_split(path: PathLike) -> list[tuple[str, int]]:
    """``(key, label)`` per line of a split file (parsed as CustomDataset does: at the last space)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'split file {path} does not exist')
    items = []
    for i, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        if not line.strip():
            continue
        key, _, lab = line.strip().rpartition(' ')
        if not key or not lab.isdigit():
            raise DatasetError(f'{path} line {i}: expected "<class>/<file> <label index>", got {line!r}')
        items.append((key, int(lab)))
    return items


def verify_classification_dataset(root: PathLike) -> dict:
    """Check a classification dataset folder against its split files and meta.json.

    Checks: the conversion finished; every listed file exists under images/ and no image
    is unlisted; labels are the index of the file's class folder in meta.json ``classes``;
    no duplicates; in every fold the splits are non-empty, disjoint and cover all.txt; no
    group is shared between two splits of a fold; the fold count matches meta.json.
    Raises one :class:`DatasetError` listing all problems; returns split sizes.
    """
    root = Path(root)
    meta = load_meta(root)
    classes = meta.get('classes') or []
    problems: list[str] = []
    all_items = read_classification_split(root / 'splits' / 'all.txt')
    folds = []
    while split_file(root, len(folds), 'train').is_file():
        folds.append({name: read_classification_split(split_file(root, len(folds), name)) for name in SPLIT_NAMES})
    if not folds:
        problems.append(f'no fold files ({split_file(root, 0, "train")} etc.)')
    if meta.get('folds') != len(folds):
        problems.append(f'meta.json says folds = {meta.get("folds")} but splits/ holds {len(folds)}')

    def listed(items: Sequence[str], limit: int = 10) -> str:
        return ', '.join(items[:limit]) + (f' … ({len(items)} in all)' if len(items) > limit else '')

    keys = [k for k, _ in all_items]
    if dup := sorted(k for k, n in Counter(keys).items() if n > 1):
        problems.append(f'splits/all.txt has duplicates: {listed(dup)}')
    if not keys:
        problems.append('splits/all.txt is empty')
    for path_items in [all_items] + [fold[n] for fold in folds for n in SPLIT_NAMES]:
        for key, lab in path_items:
            cls = key.split('/', 1)[0]
            if cls not in classes or classes.index(cls) != lab:
                problems.append(f'{key} has label {lab} but its class folder {cls!r} is '
                                + (f'label {classes.index(cls)}' if cls in classes else f'not in classes {classes}'))
    on_disk = {p.relative_to(root / 'images').as_posix() for p in (root / 'images').rglob('*') if p.is_file()}
    if missing := sorted(set(keys) - on_disk):
        problems.append(f'{len(missing)} listed file(s) missing from images/: {listed(missing)}')
    if extra := sorted(on_disk - set(keys)):
        problems.append(f'{len(extra)} file(s) in images/ not listed in splits/all.txt: {listed(extra)}')
    groups: Mapping[str, str] = meta.get('groups') or {}
    for k, fold in enumerate(folds):
        seen: dict[str, str] = {}
        for name in SPLIT_NAMES:
            if not fold[name]:
                problems.append(f'{split_file(root, k, name)} is empty')
            for key, _ in fold[name]:
                if key in seen:
                    problems.append(f'fold {k}: {key} is in both {seen[key]} and {name}')
                seen[key] = name
        if set(seen) != set(keys):
            problems.append(f'fold {k}: splits do not cover splits/all.txt exactly '
                            f'({len(set(keys) - set(seen))} missing, {len(set(seen) - set(keys))} unknown)')
        split_of_group: dict[str, str] = {}
        for key, name in seen.items():
            g = groups.get(key, key)
            if split_of_group.setdefault(g, name) != name:
                problems.append(f'fold {k}: group {g} is in both {split_of_group[g]} and {name} (leakage)')
    if problems:
        raise DatasetError(f'invalid classification dataset {root}:\n  ' + '\n  '.join(dict.fromkeys(problems)))
    return {'num_images': len(keys), 'folds': [{n: len(fold[n]) for n in SPLIT_NAMES} for fold in folds]}


def summarize_class_folds(meta: Mapping) -> list[str]:
    """Human-readable split sizes per fold and class from a classification meta.json dict."""
    lines = []
    for k, fold in enumerate(meta['counts']['folds']):
        parts = [f'{name} {sum(c.values())} (' + ', '.join(f'{cls}: {n}' for cls, n in c.items()) + ')'
                 for name, c in fold.items()]
        lines.append(f'fold{k}: ' + ' | '.join(parts))
    return lines


def find_class_folders(src: Path) -> list[str]:
    """Sorted names of the non-hidden sub-folders of ``src`` (MMPretrain's default class order)."""
    if not src.is_dir():
        raise DatasetError(f'input folder {src} does not exist')
    names = sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith('.'))
    if not names:
        raise DatasetError(f'no class folders in {src} (expected {src}/<class>/<image files>)')
    return names


def select_classes(available: Sequence[str], classes: Sequence[str] | None, exclude: Sequence[str], src: Path
                   ) -> list[str]:
    """``classes`` (their order = label order; default: ``available``, sorted) minus ``exclude``."""
    for what, names in (('--classes', classes or []), ('--exclude-classes', exclude)):
        if unknown := [c for c in names if c not in available]:
            raise DatasetError(f'{what}: no class folder {unknown} in {src}; available: {list(available)}')
        if dup := sorted(c for c, n in Counter(names).items() if n > 1):
            raise DatasetError(f'{what} names {dup} more than once')
    chosen = [c for c in (classes or available) if c not in set(exclude)]
    if len(chosen) < 2:
        raise DatasetError(f'at least 2 classes are needed, got {chosen} (available: {list(available)})')
    return chosen


def list_class_images(folder: Path) -> tuple[list[str], list[str]]:
    """``(images, ignored)``: sorted '/'-paths relative to ``folder`` of image files (recursive), and of
    other non-hidden files."""
    images, ignored = [], []
    for p in sorted(folder.rglob('*')):
        rel = p.relative_to(folder)
        if any(part.startswith('.') for part in rel.parts) or not p.is_file():
            continue
        (images if p.suffix.lower() in IMAGE_EXTS else ignored).append(rel.as_posix())
    return images, ignored


def group_ids(keys: Sequence[str], group_regex: str) -> dict[str, str]:
    """Group id per key from ``re.search(group_regex, key)``: its first capture group, else the whole match."""
    try:
        rx = re.compile(group_regex)
    except re.error as e:
        raise DatasetError(f'--group-regex {group_regex!r} is not a valid regular expression: {e}') from e
    out, unmatched = {}, []
    for k in keys:
        m = rx.search(k)
        gid = (m.group(1) if rx.groups else m.group(0)) if m else None
        if not gid:
            unmatched.append(k)
        else:
            out[k] = gid
    if unmatched:
        raise DatasetError(f'--group-regex {group_regex!r} gives no group id for {len(unmatched)} file(s) '
                           f'(matched against "<class>/<path>"), e.g. {unmatched[:5]}')
    return out


def convert_class_folders(src: PathLike, out: PathLike, *, classes: Sequence[str] | None = None,
                          exclude_classes: Sequence[str] = (), group_regex: str | None = None, seed: int = 0,
                          num_folds: int = NUM_FOLDS, dataset: str | None = None,
                          near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                          log: Callable[[str], None] = print) -> dict:
    """Convert ``<src>/<class>/…/<image>`` into the classification layout in ``out``; return meta.json as a dict.

    ``classes``: which class folders, in label order (default: all, sorted by name, as
    MMPretrain orders folders). ``group_regex``: searched in ``'<class>/<path under the
    class folder>'``; its first capture group (or the whole match) is the patient/slide id.
    Without it a leakage warning is printed and stored in meta.json. ``near_dup_distance``:
    dHash threshold of near-duplicates kept in one chunk (None or negative: off).
    """
    t0 = time.perf_counter()
    src = Path(src).resolve()
    chosen = select_classes(find_class_folders(src), classes, list(exclude_classes), src)
    files: dict[str, list[str]] = {}
    ignored: list[str] = []
    for c in chosen:
        files[c], skipped = list_class_images(src / c)
        ignored += [f'{c}/{s}' for s in skipped]
        if not files[c]:
            raise DatasetError(f'class folder {src / c} holds no image files ({", ".join(IMAGE_EXTS)})')
    keys = [f'{c}/{f}' for c in chosen for f in files[c]]
    groups = group_ids(keys, group_regex) if group_regex else None
    total = len(keys)
    log(f'converting {total} images in {len(chosen)} classes from {src} -> {out} '
        f'({", ".join(f"{c}: {len(files[c])}" for c in chosen)})')
    if ignored:
        log(f'  ignoring {len(ignored)} non-image file(s), e.g. {ignored[:3]}')
    if groups is None:
        log(f'warning: {LEAKAGE_WARNING}')
    else:
        log(f'  {len(set(groups.values()))} groups from --group-regex {group_regex!r}')

    writer = ClassificationWriter(out, dataset=dataset or src.name, classes=chosen, converter='class_folders',
                                  source=str(src), seed=seed, num_folds=num_folds,
                                  near_dup_distance=near_dup_distance, log=log,
                                  options={'classes': chosen, 'exclude_classes': list(exclude_classes),
                                           'group_regex': group_regex, 'seed': seed, 'recursive': True})
    done = 0
    for c in chosen:
        for f in files[c]:
            key = f'{c}/{f}'
            writer.add(c, f, src / c / f, group=groups[key] if groups else None)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == total:
                log(f'  [{done}/{total}]')
    parts = (['identical images'] + (['near-duplicates'] if check_near_dup_distance(near_dup_distance) is not None
                                     else []) + ([f'ids from --group-regex {group_regex!r}'] if group_regex else []))
    extra = {'grouping': ', '.join(parts[:-1]) + ' and ' + parts[-1] if len(parts) > 1 else 'identical images only'}
    if groups is None:
        extra['leakage_warning'] = LEAKAGE_WARNING
    if ignored:
        extra['ignored_files'] = len(ignored)
    writer.finalize(extra)
    meta = load_meta(out)
    log(f'done in {time.perf_counter() - t0:.1f} s: {total} images, {len(meta["identical_images"])} set(s) of '
        f'identical images, sizes {meta["image_sizes"]}')
    for line in summarize_class_folds(meta):
        log('  ' + line)
    return meta
