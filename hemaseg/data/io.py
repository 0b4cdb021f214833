"""Checked image/mask reading and writing for the dataset converters.

Every failure raises :class:`DatasetError` naming the file and the problem, so a
converter run on a user's own download reports *which* file is bad instead of
crashing later inside a training data loader. The CLIs turn it into
``error: <message>`` and exit status 2 (see :func:`run_cli`).

Files are read and written through ``np.fromfile``/``cv2.imdecode`` (and
``cv2.imencode``/``write_bytes``) rather than ``cv2.imread``/``imwrite`` because
the latter return ``None`` for non-ASCII paths on Windows, which would look like a
corrupt file.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Union

import cv2
import numpy as np

PathLike = Union[str, Path]  # not `str | Path`: setup.py allows Python 3.9


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or inconsistent; the message names it."""


def _decode(path: PathLike, what: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """The decoded file (OpenCV ``flags``); a missing or undecodable file is a DatasetError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{what} {path} does not exist')
    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, flags) if data.size else None
    if arr is None:
        raise DatasetError(f'{what} {path} cannot be decoded (empty, corrupt or unsupported format)')
    return arr


def read_image(path: PathLike) -> np.ndarray:
    """Read an image as HxWx3 uint8 **RGB**.

    Grayscale is replicated to 3 channels and an alpha channel is dropped (both are
    lossless for the RGB content); anything else (2 channels, 16-bit) is an error.
    """
    img = _decode(path, 'image')
    if img.dtype != np.uint8:
        raise DatasetError(f'image {path} has dtype {img.dtype}; expected 8-bit')
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    channels = img.shape[2]
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if channels == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    raise DatasetError(f'image {path} has {channels} channels; expected 1, 3 or 4')


def read_image_as_loaded(path: PathLike) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB the way OpenMMLab's ``LoadImageFromFile`` decodes it (OpenCV,
    ``'color'``): EXIF orientation applied, grey replicated, alpha dropped, 16-bit reduced to 8-bit.

    For masks that must line up with what a model's data pipeline loads from the same file;
    :func:`read_image` is stricter (no EXIF rotation, 8-bit only).
    """
    return cv2.cvtColor(_decode(path, 'image', cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_mask(path: PathLike) -> np.ndarray:
    """Read a label/grey-level mask as HxW uint8.

    A 3-channel mask is accepted only if its channels are identical (a grey mask
    saved as RGB); a colour mask would need a palette mapping we do not guess.
    """
    mask = _decode(path, 'mask')
    if mask.dtype != np.uint8:
        raise DatasetError(f'mask {path} has dtype {mask.dtype}; expected 8-bit')
    if mask.ndim == 3:
        if mask.shape[2] == 1:
            return np.ascontiguousarray(mask[:, :, 0])
        if mask.shape[2] == 3 and (mask[:, :, 0] == mask[:, :, 1]).all() and (mask[:, :, 0] == mask[:, :, 2]).all():
            return np.ascontiguousarray(mask[:, :, 0])
        raise DatasetError(f'mask {path} has {mask.shape[2]} channels with different content; '
                           'expected a single-channel (grey-level) mask')
    return mask


def read_instance_mask(path: PathLike) -> np.ndarray:
    """Read an instance-id mask (0 = background, k > 0 = instance k) as HxW int32.

    16-bit PNGs are accepted because images with more than 255 instances need them.
    """
    mask = _decode(path, 'instance mask')
    if mask.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f'instance mask {path} has dtype {mask.dtype}; expected 8- or 16-bit')
    if mask.ndim == 3:
        if mask.shape[2] == 1 or (mask.shape[2] == 3 and (mask == mask[:, :, :1]).all()):
            mask = mask[:, :, 0]
        else:
            raise DatasetError(f'instance mask {path} has {mask.shape[2]} channels; expected one channel of ids')
    return mask.astype(np.int32)


def write_image(path: PathLike, image_rgb: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB image as PNG (BGR on disk, as cv2 does); creates parent dirs."""
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f'write_image({path}): expected HxWx3 uint8, got {image_rgb.shape} {image_rgb.dtype}')
    _encode(path, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))


def write_mask(path: PathLike, mask: np.ndarray) -> None:
    """Write an HxW uint8 label map as single-channel PNG; creates parent dirs."""
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f'write_mask({path}): expected HxW uint8, got {mask.shape} {mask.dtype}')
    _encode(path, mask)


def _encode(path: PathLike, arr: np.ndarray) -> None:
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or '.png', arr)
    if not ok:
        raise DatasetError(f'cannot encode {path}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())


def map_mask_values(mask: np.ndarray, value_to_label: Mapping[int, int], path: PathLike,
                    snap_tolerance: int = 0, snapped: list[tuple[int, int, int]] | None = None
                    ) -> tuple[np.ndarray, int]:
    """Map raw grey levels of ``mask`` to class labels.

    A value that is not a key of ``value_to_label`` (e.g. anti-aliasing or JPEG
    residue in a hand-drawn mask) is snapped to the nearest key if it is at most
    ``snap_tolerance`` away; a value equidistant to two keys is ambiguous and an
    error. Snapping is done on the raw levels, before mapping to labels, so that e.g.
    a stray 100 in a 0/128/255 mask becomes cytoplasm even in binary-nucleus mode.

    Returns ``(labels, n_repaired)``; ``n_repaired`` is the number of snapped pixels,
    which callers must report (nothing is repaired silently). If ``snapped`` is given,
    ``(value, pixel_count, level)`` is appended to it for every snapped value.
    """
    if mask.dtype != np.uint8:
        raise DatasetError(f'mask {path} has dtype {mask.dtype}; expected uint8')
    levels = np.array(sorted(value_to_label), dtype=np.int64)
    lut = np.full(256, -1, dtype=np.int64)
    for v in levels:
        lut[v] = value_to_label[int(v)]
    values, counts = np.unique(mask, return_counts=True)
    unexpected = [(int(v), int(c)) for v, c in zip(values, counts) if lut[v] < 0]
    bad: list[str] = []
    n_repaired = 0
    for v, c in unexpected:
        dist = np.abs(levels - v)
        nearest = np.flatnonzero(dist == dist.min())
        if dist.min() > snap_tolerance or len(nearest) > 1:
            if len(nearest) > 1:
                why = 'equidistant to levels ' + '/'.join(str(levels[i]) for i in nearest)
            else:
                why = f'nearest level {levels[nearest[0]]} is {dist.min()} away'
            bad.append(f'{v} ({c} px, {why})')
        else:
            lut[v] = value_to_label[int(levels[nearest[0]])]
            n_repaired += c
            if snapped is not None:
                snapped.append((v, c, int(levels[nearest[0]])))
    if bad:
        raise DatasetError(f'mask {path} has unexpected values {", ".join(bad)}; expected only '
                           f'{sorted(value_to_label)} (snap tolerance {snap_tolerance})')
    return lut[mask].astype(np.uint8), n_repaired


def check_same_size(img: np.ndarray, mask: np.ndarray, img_path: PathLike, mask_path: PathLike) -> None:
    """Raise if the image and mask do not cover the same HxW pixel grid."""
    if img.shape[:2] != mask.shape[:2]:
        raise DatasetError(f'size mismatch: image {img_path} is {img.shape[1]}x{img.shape[0]} (WxH) '
                           f'but mask {mask_path} is {mask.shape[1]}x{mask.shape[0]}')


def run_cli(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> None:
    """Run a converter ``main``; a :class:`DatasetError` becomes ``error: ...`` and exit status 2."""
    try:
        main(argv)
    except DatasetError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
