"""Identical images, near-duplicates and split groups.

Two files holding the same picture (e.g. ALL-IDB2 ``Im223_0.tif`` and ``Im257_0.tif``)
must never be split between train and test, or the test score partly measures memory.
They are found by hashing the **decoded pixels** (shape + bytes), not the file bytes,
so a re-saved copy with other metadata is caught too; the lists of identical images are
then merged with any other grouping (e.g. patient ids) so that
:func:`hemaseg.data.splits.make_chunks` keeps each merged group in one chunk.

Near-duplicates leak just as well but differ in their pixels: the B-ALL smears of Aria
et al. 2021 hold many fields photographed twice with a small shift
(``early_pre_b/WBC-Malignant-Early-154.jpg`` / ``-155.jpg``), and a lossy re-save
changes every pixel a little. They are found with a perceptual hash, the 64-bit
difference hash (:func:`dhash`, after N. Krawetz, "Kinda like that", hackerfactor.com
blog, 2013): images whose hashes differ in at most ``max_distance`` bits
(:func:`hamming_distance`) are near-duplicates, and chains of them are joined
transitively into groups (:func:`near_duplicate_groups`, union-find of
:func:`merge_groups`). The converters do this by default with
:data:`NEAR_DUP_DISTANCE` (their ``--near-dup-distance`` / ``--no-near-dup`` options,
:func:`add_near_dup_options`) and record what they found in meta.json
(:class:`NearDuplicates`).
"""
from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .io import DatasetError
from .splits import NUM_CHUNKS


def pixel_digest(image: np.ndarray) -> str:
    """sha256 of an image's shape, dtype and pixels (equal for pixel-identical images only)."""
    arr = np.ascontiguousarray(image)
    h = hashlib.sha256(f'{arr.shape}|{arr.dtype.str}|'.encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def identical_groups(digests: Mapping[str, str]) -> list[list[str]]:
    """Lists (each sorted, >= 2 items, ordered by first item) of keys with the same digest."""
    by_digest: dict[str, list[str]] = {}
    for key, d in digests.items():
        by_digest.setdefault(d, []).append(key)
    return sorted(sorted(keys) for keys in by_digest.values() if len(keys) > 1)


def merge_groups(keys: Sequence[str], groupings: Iterable[Mapping[str, Hashable] | Iterable[Iterable[str]]]
                 ) -> dict[str, str]:
    """Connected components of "same group" over ``keys``: ``{key: group id}``.

    Every grouping is either a mapping ``key -> group label`` (keys with equal labels are
    joined) or an iterable of key lists (each list is joined). A component's id is its
    smallest key, so ids are readable and independent of the order of ``groupings``;
    a key in no grouping is its own group.
    """
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the root is always the smallest key of the component

    for grouping in groupings:
        if isinstance(grouping, Mapping):
            first: dict[Hashable, str] = {}
            members: Iterable[tuple[str, str]] = ((k, first.setdefault(g, k)) for k, g in grouping.items())
        else:
            members = ((k, lst[0]) for lst in map(list, grouping) if lst for k in lst)
        for k, anchor in members:
            if k not in parent or anchor not in parent:
                raise KeyError(f'grouping names {k if k not in parent else anchor!r}, which is not one of the keys')
            join(k, anchor)
    return {k: find(k) for k in keys}


def group_identical_images(keys: Sequence[str], digests: Mapping[str, str], labels: Mapping[str, str]
                           ) -> tuple[dict[str, str], list[list[str]]]:
    """``(groups, identical)``: :func:`merge_groups` over the pixel-identical images, and their lists.

    Identical images with different ``labels`` are a :class:`~hemaseg.data.io.DatasetError`
    naming them: one picture cannot be both, so the labels (or the files) are wrong.
    """
    same = identical_groups(digests)
    if mixed := [g for g in same if len({labels[k] for k in g}) > 1]:
        raise DatasetError('identical images carry different labels: '
                           + '; '.join(', '.join(f'{k} ({labels[k]})' for k in g) for g in mixed))
    return merge_groups(keys, [same]), same


# --------------------------------------------------------------------------- near-duplicates

DHASH_BITS = 64
# Default Hamming threshold of the converters, chosen from the pair distances of the shared data
# (every pair compared; pairs called "same" were checked by eye and by an aligned correlation of
# band-passed thumbnails, which splits same from unrelated pairs with nothing between 0.4 and 0.6):
# * B-ALL smears of Aria et al. 2021 (3,216 fields of 224 px, 5.2 M pairs): every pair at 0-8 bits is
#   one field photographed twice with a small shift (57 pairs at <= 6, 64 at <= 8); the first unrelated
#   pairs lie at 9 (2 pairs, one across classes), the bulk at 13-22. 16 more same-field pairs lie at
#   10-18 bits, among thousands of unrelated ones: no dHash threshold reaches them safely.
# * ALL-IDB2 (260 single-cell crops): 0-10 bits are the same cell photographed twice (12 pairs), 11+ not.
# * WBC of Zheng et al. 2018, dataset1 (tight 120x120 crops of one cell on a bright background): the
#   same cell twice at 0, 2 and 6 bits, but distinct look-alike cells from 3 bits on; they chain into
#   one group of 31 cells at 6 bits, 50 at 7 and 71 at 8 (more than the 60 dataset1 cells of a chunk).
# 6 keeps a 3-bit margin below the first unrelated B-ALL pair (more images bring unrelated pairs
# closer), catches 55 of the 62 groups that 8 would, and keeps the WBC look-alike chain smaller than
# a chunk, so the folds stay 6:2:2.
NEAR_DUP_DISTANCE = 6
NEAR_DUP_METHOD = ('64-bit difference hash (dHash; Krawetz, "Kinda like that", hackerfactor.com 2013): grey, '
                   'resized to 9x8 with cv2.INTER_AREA, bit = left cell brighter than its right neighbour; '
                   'near-duplicates = Hamming distance <= max_distance, joined transitively')
_PAIR_BLOCK_ELEMENTS = 1 << 22  # hash comparisons per vectorised block (32 MiB of uint64 XORs)


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """The 9 x 8 (columns x rows) uint8 grey thumbnail that :func:`dhash` compares."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)) \
            or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f'dhash: expected a non-empty HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) uint8 image, '
                         f'got shape {arr.shape} dtype {arr.dtype}')
    if arr.ndim == 3:
        code = cv2.COLOR_RGB2GRAY if arr.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        arr = arr[:, :, 0] if arr.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(arr), code)
    return cv2.resize(np.ascontiguousarray(arr), (9, 8), interpolation=cv2.INTER_AREA)


def _pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), 'big')


def dhash(image: np.ndarray) -> int:
    """64-bit difference hash (dHash) of an image, as an unsigned int in ``[0, 2**64)``.

    Why: two photographs of the same field with a small shift, or a re-saved JPEG, have
    different pixels (so :func:`pixel_digest` misses them) but the same coarse layout of
    light and dark. dHash (N. Krawetz, "Kinda like that", hackerfactor.com blog, 2013)
    keeps only that layout: the image is turned grey (``cv2`` RGB->grey weights; an
    alpha channel is dropped), shrunk to 9 columns x 8 rows with ``cv2.INTER_AREA`` (a
    box average, so noise and JPEG artefacts cancel out), and each of the 8 x 8 pairs of
    horizontally adjacent cells gives one bit, 1 where the left cell is brighter than the
    right one. Bits are packed row by row, the top-left comparison in the most significant
    bit. Similar images then differ in few bits (:func:`hamming_distance`).

    ``image``: HxW (grey) or HxWx3 / HxWx4 (RGB / RGBA, as
    :func:`~hemaseg.data.io.read_image` returns), uint8.

    Limits, measured on the shared data (see :data:`NEAR_DUP_DISTANCE`): a lossy re-save
    mostly keeps the hash (73% of B-ALL fields re-encoded at JPEG quality 85 keep it, the
    rest move by 1-3 bits), but a 2-3 pixel shift of a dense 224 px field moves it by about
    6 bits (median; up to 14), because neighbouring cells of such a field have nearly the
    same brightness and their comparisons flip easily. So some re-photographed fields lie
    beyond any threshold that keeps unrelated fields apart. Distinct but look-alike images
    (one centred cell on a bright background) can be a few bits apart. A flat image, or
    one whose rows are flat, hashes to 0 whatever its colour (see :func:`dhash_or_none`);
    mirrored or rotated copies, and crops that cut away much of the field, are not found.
    """
    small = _thumbnail(image)
    return _pack(small[:, :-1] > small[:, 1:])


def dhash_or_none(image: np.ndarray) -> int | None:
    """:func:`dhash`, or None when it says nothing about the image: every one of its 64 comparisons is a tie.

    A blank image (or one that changes only from top to bottom) hashes to 0 whatever its
    colours, so two such images are "identical" to dHash without being alike; the
    converters leave them out of the near-duplicate search (pixel-identical copies are
    still found by :func:`pixel_digest` where a converter checks for them).
    """
    small = _thumbnail(image)
    left, right = small[:, :-1], small[:, 1:]
    return None if bool((left == right).all()) else _pack(left > right)


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits of two hashes (0 = same hash, 64 = every bit differs)."""
    return bin((int(a) ^ int(b)) & (2 ** DHASH_BITS - 1)).count('1')


if hasattr(np, 'bitwise_count'):  # NumPy >= 2.0: a native popcount
    def _popcount(x: np.ndarray) -> np.ndarray:
        return np.bitwise_count(x)
else:
    _BYTE_BITS = np.array([bin(i).count('1') for i in range(256)], np.uint8)

    def _popcount(x: np.ndarray) -> np.ndarray:
        return _BYTE_BITS[x.view(np.uint8)].reshape(x.shape + (8,)).sum(axis=-1, dtype=np.uint8)


def near_duplicate_pairs(hashes: Mapping[str, int], max_distance: int) -> list[tuple[str, str, int]]:
    """Every pair of keys whose hashes are at most ``max_distance`` bits apart: ``(a, b, distance)``, a < b, sorted.

    All pairs are compared, so no near-duplicate is missed (a bucketed search, e.g. by
    hash prefix, would be faster but can only find pairs that share a bucket). The cost is
    n(n-1)/2 XOR + popcounts of 64-bit words, vectorised over blocks of about 4 million
    (:data:`_PAIR_BLOCK_ELEMENTS`) so memory stays near 50 MiB whatever n. Measured on one
    core for 10,000 images (50 million pairs): 0.34 s with NumPy >= 2 (``np.bitwise_count``),
    1.8 s with the byte-table popcount used for older NumPy; both grow with n squared.
    """
    _check_max_distance(max_distance)
    keys = sorted(hashes)
    values = np.array([int(hashes[k]) for k in keys], np.uint64)
    n = len(keys)
    pairs: list[tuple[str, str, int]] = []
    rows = max(1, _PAIR_BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n - 1, rows):
        block = values[start:start + rows]
        # Each row i is compared with the keys after it (j > i): the upper triangle, once.
        dist = _popcount(block[:, None] ^ values[None, start + 1:])
        i, j = np.nonzero(dist <= max_distance)
        i_abs, j_abs = i + start, j + start + 1
        keep = j_abs > i_abs
        for a, b, d in zip(i_abs[keep], j_abs[keep], dist[i[keep], j[keep]]):
            pairs.append((keys[a], keys[b], int(d)))
    return sorted(pairs)


def near_duplicate_groups(hashes: Mapping[str, int], max_distance: int) -> list[list[str]]:
    """Groups (each sorted, >= 2 keys, ordered by first key) of keys joined by near-duplicate pairs.

    Joining is **transitive**: a ~ b and b ~ c put a, b and c in one group even when a and
    c are further apart than ``max_distance``, because a split that keeps a with b and b
    with c must keep all three together. Components are found by :func:`merge_groups`
    (union-find); the cost is that of :func:`near_duplicate_pairs`.
    """
    return _components(sorted(hashes), [(a, b) for a, b, _ in near_duplicate_pairs(hashes, max_distance)])


def _components(keys: Sequence[str], pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    ids = merge_groups(keys, [[list(p) for p in pairs]])  # one grouping: the pairs
    members: dict[str, list[str]] = {}
    for k, g in ids.items():
        members.setdefault(g, []).append(k)
    return sorted(sorted(m) for m in members.values() if len(m) > 1)


def _check_max_distance(max_distance: int) -> None:
    if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)) \
            or not 0 <= max_distance <= DHASH_BITS:
        raise DatasetError(f'near-duplicate distance must be an integer from 0 to {DHASH_BITS} (bits of the dHash), '
                           f'got {max_distance!r}')


def check_near_dup_distance(max_distance: int | None) -> int | None:
    """The threshold a converter uses: ``None`` (or any negative number) disables the search, else 0-64."""
    if max_distance is None or (isinstance(max_distance, (int, np.integer)) and not isinstance(max_distance, bool)
                                and max_distance < 0):
        return None
    _check_max_distance(max_distance)
    return int(max_distance)


@dataclass
class NearDuplicates:
    """What the near-duplicate search of a converter found (stored in meta.json by :meth:`meta`).

    ``groups``: transitive groups joined into the split groups; ``pairs``: every pair within
    ``max_distance``, ``(a, b, distance)``; ``unjoined``: pairs that could not be joined because
    they lie in different strata (classes) or given chunks, which a split must keep apart;
    they are leakage the split cannot remove and are reported as a warning. ``oversized``:
    groups larger than a chunk's share of their stratum, which make the folds unequal.
    ``max_distance`` None: the search was switched off.
    """

    max_distance: int | None
    groups: list[list[str]] = field(default_factory=list)
    pairs: list[tuple[str, str, int]] = field(default_factory=list)
    unjoined: list[tuple[str, str, int]] = field(default_factory=list)
    oversized: list[tuple[list[str], float]] = field(default_factory=list)  # (group, chunk share of its stratum)
    separated_by: str = 'strata'  # what the split keeps apart, plural, for messages

    def warnings(self) -> list[str]:
        """One sentence per problem the split cannot fix (unjoined pairs, oversized groups)."""
        out = []
        if self.unjoined:
            out.append(f'{len(self.unjoined)} near-duplicate pair(s) lie in different {self.separated_by}, which '
                       'the split keeps apart, so they may fall on both sides of a fold, e.g. '
                       + '; '.join(f'{a} / {b} (distance {d})' for a, b, d in self.unjoined[:3]))
        for group, share in self.oversized:
            out.append(f'a near-duplicate group of {len(group)} images ({", ".join(group[:3])} …) is larger than a '
                       f'chunk\'s share of its stratum ({share:.0f} images), so the folds will be unequal; '
                       'dHash is weak on look-alike images such as tightly cropped single cells: look at the group '
                       'and lower --near-dup-distance (or pass --no-near-dup) if they are not copies')
        return out

    def meta(self) -> dict:
        """The ``near_duplicates`` entry of meta.json."""
        if self.max_distance is None:
            return {'max_distance': None, 'method': 'off (--no-near-dup or --near-dup-distance -1)'}
        sizes = Counter(len(g) for g in self.groups)
        out = {'max_distance': self.max_distance, 'method': NEAR_DUP_METHOD, 'num_groups': len(self.groups),
               'num_images': sum(len(g) for g in self.groups),
               'largest_group': max((len(g) for g in self.groups), default=0),
               'group_sizes': {str(n): sizes[n] for n in sorted(sizes)},
               'groups': self.groups, 'pairs': [list(p) for p in self.pairs]}
        if self.unjoined:
            out['unjoined_pairs'] = [list(p) for p in self.unjoined]
        if warnings := self.warnings():
            out['warnings'] = warnings
        return out

    def split_error(self, error: DatasetError) -> DatasetError:
        """``error`` of a split that failed after near-duplicates were joined, with what to do about it."""
        if not self.groups:
            return error
        largest = max(self.groups, key=len)
        return DatasetError(f'{error}. Near-duplicate grouping (dHash distance <= {self.max_distance}) joined '
                            f'{sum(len(g) for g in self.groups)} images into {len(self.groups)} group(s), the largest '
                            f'of {len(largest)} ({", ".join(largest[:3])} …): if they are '
                            'not copies, lower --near-dup-distance or pass --no-near-dup (near_dup_distance=None)')

    def report(self, examples: int = 3) -> list[str]:
        """A few printable lines: how many groups, their sizes, the largest ones, and any warnings."""
        if self.max_distance is None:
            return ['near-duplicate search off: only identical images (and given groups) are kept together']
        head = f'near-duplicates (dHash distance <= {self.max_distance}): '
        if not self.groups:
            lines = [head + 'none' + (' joined' if self.unjoined else '')]
        else:
            sizes = Counter(len(g) for g in self.groups)
            lines = [head + f'{len(self.groups)} group(s) of {sum(len(g) for g in self.groups)} images, each kept in '
                     'one chunk; sizes ' + ', '.join(f'{sizes[n]} x {n}' for n in sorted(sizes, reverse=True))]
            group_of = {k: i for i, g in enumerate(self.groups) for k in g}
            distances: dict[int, list[int]] = {}
            for a, b, d in self.pairs:
                if a in group_of and group_of[a] == group_of.get(b):
                    distances.setdefault(group_of[a], []).append(d)
            largest = sorted(range(len(self.groups)), key=lambda i: (-len(self.groups[i]), self.groups[i]))
            for i in largest[:examples]:
                g, ds = self.groups[i], distances.get(i, [0])
                lines.append(f'  e.g. {", ".join(g[:4])}' + (f' … ({len(g)} in all)' if len(g) > 4 else '')
                             + (f' (distance {ds[0]})' if len(ds) == 1 else f' (distances {min(ds)}-{max(ds)})'))
        return lines + [f'warning: {w}' for w in self.warnings()]


def find_near_duplicates(hashes: Mapping[str, int | None], max_distance: int | None,
                         separate: Mapping[str, Hashable] | None = None, separated_by: str = 'strata',
                         num_chunks: int | None = NUM_CHUNKS) -> NearDuplicates:
    """Near-duplicate groups of ``hashes`` (key -> :func:`dhash_or_none`; None: left out) for a split;
    ``max_distance`` None: off.

    ``separate`` (key -> stratum, e.g. the class): pairs whose keys have different values
    are not joined (a group must lie in one stratum for :func:`~hemaseg.data.splits.make_chunks`)
    but listed in ``unjoined``; ``separated_by`` names the strata in messages (plural). A group
    larger than ``1/num_chunks`` of its stratum is listed in ``oversized``: look-alike but
    distinct images can chain into such a group, and it unbalances the folds.
    """
    max_distance = check_near_dup_distance(max_distance)
    if max_distance is None:
        return NearDuplicates(None)
    pairs = near_duplicate_pairs({k: h for k, h in hashes.items() if h is not None}, max_distance)
    if separate is None:
        joined, unjoined = pairs, []
    else:
        joined = [p for p in pairs if separate[p[0]] == separate[p[1]]]
        unjoined = [p for p in pairs if separate[p[0]] != separate[p[1]]]
    groups = _components(sorted(hashes), [(a, b) for a, b, _ in joined])
    oversized = []
    if num_chunks:
        stratum_size = Counter(separate[k] for k in hashes) if separate is not None else None
        for g in groups:
            share = (stratum_size[separate[g[0]]] if stratum_size is not None else len(hashes)) / num_chunks
            if len(g) > share:
                oversized.append((g, share))
    return NearDuplicates(max_distance, groups, pairs, unjoined, oversized, separated_by)


def join_labelled_groups(keys: Sequence[str], groups: Mapping[str, str] | None, extra: Iterable[Sequence[str]]
                         ) -> dict[str, str] | None:
    """``groups`` (key -> label; None: every key alone) with the key lists of ``extra`` joined into them.

    Unlike :func:`merge_groups`, labels are kept: a group that joins nothing keeps its
    label, and a merged one takes the smallest label among its parts. So a converter's
    groups (e.g. SN-AM source images) and therefore its splits stay exactly as before
    when ``extra`` joins nothing; ``groups`` itself (possibly None) is returned then.
    """
    extra = [list(g) for g in extra if len(g) > 1]
    label = {k: str(groups[k]) for k in keys} if groups else {k: k for k in keys}
    ids = merge_groups(keys, ([label] if groups else []) + [extra])
    labels_of: dict[str, set[str]] = {}
    for k in keys:
        labels_of.setdefault(ids[k], set()).add(label[k])
    if all(len(ls) == 1 for ls in labels_of.values()):
        return dict(groups) if groups else None
    return {k: min(labels_of[ids[k]]) for k in keys}


# --------------------------------------------------------------------------- command-line option

NEAR_DUP_HELP = (f'keep near-duplicate images (64-bit dHash at most N bits apart, e.g. the same field photographed '
                 f'twice with a small shift, or a re-saved JPEG) on one side of every fold, joined transitively and '
                 f'merged with the other groups (default {NEAR_DUP_DISTANCE}; 0: equal hashes only; -1: off, as '
                 '--no-near-dup). Recorded in meta.json near_duplicates')


def _near_dup_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value > DHASH_BITS:
        raise argparse.ArgumentTypeError(f'expected an integer up to {DHASH_BITS} (bits of the dHash) or -1 (off), '
                                         f'got {text!r}')
    return value


def add_near_dup_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--near-dup-distance N`` and ``--no-near-dup`` to a converter's command line."""
    parser.add_argument('--near-dup-distance', type=_near_dup_arg, default=NEAR_DUP_DISTANCE, metavar='N',
                        help=NEAR_DUP_HELP)
    parser.add_argument('--no-near-dup', action='store_true',
                        help='do not search for near-duplicates (only identical images and given groups are kept '
                             'together)')


def near_dup_distance_of(args: argparse.Namespace) -> int | None:
    """The ``near_dup_distance`` for a converter from the options of :func:`add_near_dup_options` (None: off)."""
    return None if args.no_near_dup or args.near_dup_distance < 0 else args.near_dup_distance


def add_split_options(parser: argparse.ArgumentParser) -> None:
    """Add the split options every converter shares: ``--seed``, ``--folds`` and the near-duplicate
    options of :func:`add_near_dup_options`."""
    from .splits import FOLDS_HELP, NUM_FOLDS
    parser.add_argument('--seed', type=int, default=0, help='split seed (default 0)')
    parser.add_argument('--folds', type=int, choices=range(1, NUM_CHUNKS + 1), default=NUM_FOLDS, metavar='N',
                        help=FOLDS_HELP)
    add_near_dup_options(parser)


def split_kwargs(args: argparse.Namespace) -> dict:
    """The keyword arguments of a converter function from the options of :func:`add_split_options`:
    ``seed``, ``num_folds`` and ``near_dup_distance``."""
    return dict(seed=args.seed, num_folds=args.folds, near_dup_distance=near_dup_distance_of(args))
