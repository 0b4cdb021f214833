"""Synthetic Jenner-Giemsa single-cell crops: the project's embedded default dataset.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).

Real SN-AM crops cannot be shipped, so the quick-start trains on these. They imitate
the SN-AM crops of spec 000 §5.1 at a small size: a pale pink/lilac background with
red blood cells (pink discs with a lighter centre), one leukocyte/lymphoblast near
the centre (pale blue-grey cytoplasm, a large irregular dark-purple nucleus with
chromatin texture, sometimes a notch and lighter nucleoli), per-image stain and
brightness variation, slight blur, sensor noise, and in some crops a black padding
strip as where an SN-AM crop leaves its source image.

Rendering is a transmission model (image = illumination x background x exp(-sum of
absorbances)), so overlapping objects darken each other as stained objects do.

Label rule: every image contains exactly one leukocyte, and *all* of its nucleus
pixels are labelled (in ``'3class'`` mode its cytoplasm too). Red cells, platelets
(small purple clumps: the dark distractors) and padding are background. Hence the
labels agree both with "every nucleus pixel" and with the SN-AM converter's
"nucleus of the centred cell only" rule. Labels come from the same geometry that is
rendered (a pixel is nucleus where its soft coverage is >= 0.5), so they are exact.

Images are byte-for-byte reproducible for a given seed on a given platform: each
image has its own generator spawned from ``SeedSequence(seed)``, so image i does not
depend on ``num_images``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .duplicates import NEAR_DUP_DISTANCE
from .io import PathLike
from .layout import DatasetWriter, summarize_folds
from .splits import NUM_FOLDS


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random (cells+1)^2 grid, smoothly interpolated."""
    grid = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1))
    u = np.linspace(0.0, cells, size, endpoint=False) + cells / (2 * size)
    i0 = np.minimum(u.astype(int), cells - 1)
    t = u - i0
    t = t * t * (3 - 2 * t)
    rows = grid[i0] * (1 - t)[:, None] + grid[i0 + 1] * t[:, None]
    return rows[:, i0] * (1 - t)[None, :] + rows[:, i0 + 1] * t[None, :]


def _fourier_radius(rng: np.random.Generator, angle: np.ndarray, harmonics: range, amplitude: float) -> np.ndarray:
    """1 + a random low-frequency perturbation of a closed contour's radius (shape irregularity)."""
    r = np.ones_like(angle)
    for k in harmonics:
        r += rng.uniform(0, amplitude) / np.sqrt(k) * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
    return r


def _coverage(signed: np.ndarray) -> np.ndarray:
    """Soft (anti-aliased) coverage from a signed distance in pixels (> 0 inside)."""
    return np.clip(signed + 0.5, 0.0, 1.0)


def render_cell_crop(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one crop; return ``(image_rgb uint8, nucleus bool, cell bool)`` (cell includes nucleus)."""
    s = float(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    absorb = np.zeros((size, size, 3))

    def add(coverage: np.ndarray, transmission: np.ndarray) -> None:
        nonlocal absorb
        absorb = absorb + coverage[..., None] * -np.log(transmission)

    # Leukocyte geometry first: platelets are kept off it.
    centre = s / 2 + rng.normal(0, 0.04 * s, 2).clip(-0.1 * s, 0.1 * s)
    cell_r = s * rng.uniform(0.20, 0.30)
    dy, dx = yy - centre[0], xx - centre[1]
    rho, phi = np.hypot(dy, dx), np.arctan2(dy, dx)
    cell_edge = cell_r * _fourier_radius(rng, phi, range(2, 5), 0.06)
    cell_cov = _coverage(cell_edge - rho)

    off_r, off_a = cell_r * rng.uniform(0, 0.18), rng.uniform(0, 2 * np.pi)
    off = off_r * np.array([np.sin(off_a), np.cos(off_a)])
    semi_a = cell_r * rng.uniform(0.55, 0.82)
    semi_b = semi_a * rng.uniform(0.65, 1.0)
    theta = rng.uniform(0, np.pi)
    ny, nx = yy - centre[0] - off[0], xx - centre[1] - off[1]
    u = (nx * np.cos(theta) + ny * np.sin(theta)) / semi_a
    v = (-nx * np.sin(theta) + ny * np.cos(theta)) / semi_b
    q, psi = np.hypot(u, v), np.arctan2(v, u)
    edge = _fourier_radius(rng, psi, range(2, 6), 0.10)
    if rng.random() < 0.35:  # kidney-shaped notch, common in blasts and monocytes
        d = np.angle(np.exp(1j * (psi - rng.uniform(0, 2 * np.pi))))
        edge -= rng.uniform(0.2, 0.45) * np.exp(-(d / rng.uniform(0.25, 0.5)) ** 2)
    # (edge - q) * semi_b approximates the signed distance in pixels; the nucleus stays inside the cell.
    nuc_cov = np.minimum(_coverage((edge - q) * semi_b), _coverage(0.92 * cell_edge - rho))

    # Background: pale pink/lilac with uneven illumination.
    bg = np.array([0.90, 0.82, 0.88]) + rng.normal(0, 0.025, 3)
    illum = rng.uniform(0.92, 1.05) * (1 + 0.04 * _smooth_noise(rng, size, 3))

    # Red blood cells: pink discs with central pallor, partly under the leukocyte.
    rbc_t = np.array([0.94, 0.62, 0.69]) + rng.normal(0, 0.03, 3)
    for _ in range(int(rng.integers(2, 8))):
        c = rng.uniform(-0.1 * s, 1.1 * s, 2)
        r = s * rng.uniform(0.10, 0.15)
        ecc, ang = rng.uniform(0.8, 1.0), rng.uniform(0, np.pi)
        ry, rx = yy - c[0], xx - c[1]
        a_ = (rx * np.cos(ang) + ry * np.sin(ang)) / r
        b_ = (-rx * np.sin(ang) + ry * np.cos(ang)) / (r * ecc)
        d = np.hypot(a_, b_)
        pallor = 1 - rng.uniform(0.4, 0.7) * np.exp(-(d / 0.5) ** 2)
        add(_coverage((1 - d) * r) * pallor, rbc_t)

    # Platelets: small purple granular clumps away from the leukocyte (dark distractors).
    plt_t = np.array([0.62, 0.50, 0.78])
    for _ in range(int(rng.integers(0, 4))):
        ang, dist = rng.uniform(0, 2 * np.pi), cell_r * 1.25 + rng.uniform(0, 0.35 * s)
        c = centre + dist * np.array([np.sin(ang), np.cos(ang)])
        for _ in range(int(rng.integers(2, 6))):
            g = c + rng.normal(0, 0.012 * s, 2)
            add(_coverage(s * rng.uniform(0.008, 0.018) - np.hypot(yy - g[0], xx - g[1])), plt_t)

    # Cytoplasm: pale blue-grey, sometimes very faint (then the cell border is hard to see).
    cyto_t = 1 - rng.uniform(0.4, 1.2) * (1 - np.array([0.80, 0.90, 0.99]))
    add(cell_cov * (1 + 0.08 * _smooth_noise(rng, size, 12)), cyto_t)

    # Nucleus: dark purple with chromatin texture and optional lighter nucleoli.
    # Stain strength varies so that some nuclei are pale and low-contrast.
    nuc_t = (np.array([0.42, 0.30, 0.62]) + rng.normal(0, 0.04, 3)) ** rng.uniform(0.6, 1.2)
    chromatin = cv2.GaussianBlur(rng.normal(0, 1, (size, size)), (0, 0), rng.uniform(0.6, 1.4))
    chromatin = 1 + rng.uniform(0.25, 0.5) * chromatin / (chromatin.std() + 1e-9)
    for _ in range(int(rng.integers(0, 3))):
        g_r, g_a = rng.uniform(0, 0.5), rng.uniform(0, 2 * np.pi)
        gy = centre[0] + off[0] + semi_b * g_r * np.sin(g_a)
        gx = centre[1] + off[1] + semi_a * g_r * np.cos(g_a)
        chromatin *= 1 - 0.45 * np.exp(-((yy - gy) ** 2 + (xx - gx) ** 2) / (2 * (0.07 * semi_a) ** 2))
    add(nuc_cov * np.clip(chromatin, 0.2, None), nuc_t)

    # Per-image stain strength per channel, then optics and sensor.
    absorb = absorb * rng.uniform(0.85, 1.15, 3) * rng.uniform(0.85, 1.15)
    img = illum[..., None] * bg * np.exp(-absorb)
    img = np.clip(img, 0, 1) ** rng.uniform(0.9, 1.1)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0))
    img = img + rng.normal(0, rng.uniform(0.005, 0.025), img.shape)
    image = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    nucleus, cell = nuc_cov >= 0.5, np.maximum(cell_cov, nuc_cov) >= 0.5

    if rng.random() < 0.3:  # black padding where an SN-AM-style crop leaves its source image
        pad = np.zeros((size, size), bool)
        w = int(rng.integers(int(0.08 * s), int(0.3 * s) + 1))
        side = int(rng.integers(4))
        {0: pad[:, :w], 1: pad[:, size - w:], 2: pad[:w, :], 3: pad[size - w:, :]}[side][...] = True
        image[pad], nucleus[pad], cell[pad] = 0, False, False
    return image, nucleus, cell


def generate_synthetic_dataset(out: PathLike, num_images: int = 100, size: int = 128, seed: int = 0,
                               classes: str = 'nucleus', num_folds: int = NUM_FOLDS,
                               near_dup_distance: int | None = NEAR_DUP_DISTANCE,
                               log: Callable[[str], None] = print) -> dict:
    """Write ``num_images`` synthetic crops in the project format (with ``num_folds`` folds) to ``out``.

    ``near_dup_distance``: dHash threshold of near-duplicates kept in one chunk (None or negative: off;
    :class:`~hemaseg.data.layout.DatasetWriter`). Every crop is drawn anew, so normally none are found.
    """
    t0 = time.perf_counter()
    if num_images < 5 or size < 32:
        raise ValueError(f'need num_images >= 5 (for 5 split chunks) and size >= 32, got {num_images}, {size}')
    writer = DatasetWriter(out, dataset='synthetic', classes=classes, converter='make_synthetic',
                           source='generated by hemaseg.data.synthetic', seed=seed, num_folds=num_folds,
                           near_dup_distance=near_dup_distance, log=log,
                           options={'num_images': num_images, 'size': size, 'seed': seed, 'classes': classes})
    width = len(str(num_images - 1))
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(num_images)):
        image, nucleus, cell = render_cell_crop(np.random.default_rng(child), size)
        mask = nucleus.astype(np.uint8) if classes == 'nucleus' else np.where(nucleus, 2, cell.astype(np.uint8))
        writer.add(f'syn_{i:0{max(width, 3)}d}', image, mask.astype(np.uint8))
    folds = writer.finalize()
    elapsed = time.perf_counter() - t0
    log(f'wrote {num_images} synthetic {size}x{size} images ({classes}) to {Path(out)} in {elapsed:.1f} s')
    for line in summarize_folds(folds):
        log('  ' + line)
    return {'num_images': num_images, 'folds': folds, 'seconds': elapsed}
