"""One mask file per image, written for a list of images with one rule for bad inputs; used by
``tools/handcrafted_nucleus.py`` and ``tools/precompute_masks.py`` (handcrafted, ensemble and deep masks).

Each :class:`MaskJob` names an image, the mask written for it (``target``, single-channel PNG,
255 = foreground, 0 = rest, the image's size) and optionally a contour overlay. The rule, the same
for every caller:

* an image that cannot be read, or whose segmentation fails (``ValueError`` / ``RuntimeError``), is
  skipped: no mask is written, the file is named with the reason and counted as failed, and the
  others are processed; :meth:`MaskRun.report` then lists the failures and returns exit status 1;
* an empty mask (nothing found) is written like any other and named and counted as empty: a
  warning, not a failure (an image may hold no nucleus, or a model may miss it).

Nothing is created for a job that fails, so a run where every image fails leaves no output folder.
"""
from __future__ import annotations

import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .data.io import DatasetError, read_image, read_mask, write_image, write_mask
from .handcrafted import HandcraftedParams, segment_nucleus_handcrafted

SHOWN = 20  # empty masks named in the warning; the caller may write the full list elsewhere


def _print(line: str) -> None:
    print(line, flush=True)  # progress of a long run shows up at once, even when piped


@dataclass
class MaskJob:
    """One image: ``source`` (file read), ``target`` (mask written), ``name`` (how summaries list it),
    ``overlay`` (where to write the image with the mask's contour, or None)."""
    source: str
    target: str
    name: str
    overlay: Optional[str] = None


@dataclass
class MaskRun:
    """What :func:`write_masks` did: ``total`` jobs, masks ``written`` and ``kept`` (an earlier run's,
    with ``keep_existing``), the ``empty`` ones (job names, written or kept) and the ``failed`` ones
    (``(source, reason)``; a caller may add its own, e.g. inputs that do not exist)."""
    total: int
    written: int = 0
    kept: int = 0
    empty: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """1 when any image failed (or none gave a mask), else 0."""
        return 1 if self.failed or not (self.written or self.kept) else 0

    def report(self, where: str, empty_note: str = '', log: Callable[[str], None] = print,
               err: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> int:
        """Print the summary (``where``: e.g. ``'in DIR'``), the empty masks (warning, with ``empty_note``
        appended) and every failure with its reason; return :attr:`exit_status`."""
        kept = f', {self.kept} kept from an earlier run' if self.kept else ''
        log(f'{self.written} mask(s) written{kept} {where}'
            + (f'; {len(self.failed)} input(s) failed (listed on stderr)' if self.failed else ''))
        if self.empty:
            shown = ', '.join(self.empty[:SHOWN]) + (' ...' if len(self.empty) > SHOWN else '')
            err(f'warning: {len(self.empty)} of {self.total} masks are empty (nothing found){empty_note}: {shown}')
        if self.failed:
            err(f'{len(self.failed)} input(s) failed (no mask written):')
            for path, why in self.failed:
                err(f'  {why}' if path in why else f'  {path}: {why}')
        return self.exit_status


def _kept_mask(target: str) -> Optional[np.ndarray]:
    """The mask an earlier run wrote at ``target`` (bool), or None if there is none or it is unreadable."""
    if not osp.isfile(target):
        return None
    try:
        return read_mask(target) > 0
    except DatasetError:  # e.g. cut short by an interrupted run: computed again
        return None


def write_masks(jobs: Sequence[MaskJob], segment: Callable[[str, np.ndarray], np.ndarray],
                read: Callable[[str], np.ndarray] = read_image, keep_existing: bool = False,
                progress_every: int = 100, log: Callable[[str], None] = _print) -> MaskRun:
    """Write ``segment(source path, RGB image) -> bool HxW mask`` of every job (rule: module doc).

    ``read``: how images are decoded (default :func:`hemaseg.data.io.read_image`; a ``DatasetError``
    names the file). ``keep_existing``: a readable mask already at ``target`` is kept, not recomputed
    (an interrupted run resumes). A progress line is logged every ``progress_every`` jobs and at the end.
    """
    from .viz import draw_contour_overlay

    run = MaskRun(total=len(jobs))
    start = time.time()
    for i, job in enumerate(jobs, 1):
        mask = _kept_mask(job.target) if keep_existing else None
        if mask is not None:
            run.kept += 1
        else:
            try:
                rgb = read(job.source)
                mask = np.asarray(segment(job.source, rgb)).astype(bool)
                if mask.shape != rgb.shape[:2]:
                    raise RuntimeError(f'the mask is {mask.shape[0]}x{mask.shape[1]}, the image '
                                       f'{rgb.shape[0]}x{rgb.shape[1]}')
            except (ValueError, RuntimeError) as e:  # DatasetError is a ValueError
                run.failed.append((job.source, str(e)))
                mask = None
            if mask is not None:
                write_mask(job.target, mask.astype(np.uint8) * 255)
                if job.overlay:
                    write_image(job.overlay, draw_contour_overlay(rgb, mask.astype(np.uint8)))
                run.written += 1
        if mask is not None and not mask.any():
            run.empty.append(job.name)
        if i % progress_every == 0 or i == len(jobs):
            rate = (time.time() - start) / max(run.written, 1)
            log(f'[{i}/{len(jobs)}] {run.written} written, {run.kept} kept, {len(run.empty)} empty, '
                f'{len(run.failed)} failed ({rate:.2f} s per computed mask)')
    return run


def write_handcrafted_masks(jobs: Sequence[MaskJob], params: HandcraftedParams = HandcraftedParams(),
                            **kwargs) -> MaskRun:
    """:func:`write_masks` with Algorithm 1 of spec 002 (:func:`hemaseg.handcrafted.segment_nucleus_handcrafted`,
    ``params`` defaulting to Table A1); ``kwargs`` go to :func:`write_masks`."""
    return write_masks(jobs, lambda path, rgb: segment_nucleus_handcrafted(rgb, params), **kwargs)
