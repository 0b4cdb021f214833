"""Identical images and split groups.

Two files holding the same picture (e.g. ALL-IDB2 ``Im223_0.tif`` and ``Im257_0.tif``)
must never be split between train and test, or the test score partly measures memory.
They are found by hashing the **decoded pixels** (shape + bytes), not the file bytes,
so a re-saved copy with other metadata or compression is caught too; the lists of
identical images are then merged with any other grouping (e.g. patient ids) so that
:func:`hemaseg.data.splits.make_chunks` keeps each merged group in one chunk.
"""
from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np

from .io import DatasetError


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
