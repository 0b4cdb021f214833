"""How much of a class-activation map falls on the nucleus (a number for spec 002 §2.5 / §7.4).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

The paper only shows CAM overlays (Figs. 8-10: segmented models "focus precisely where the WBC
kernels are located", non-segmented ones are "easily distracted"). To put a number on that,
the share of CAM energy inside the nucleus mask is

    energy_inside = sum(cam * mask) / sum(cam)                (cam >= 0, mask boolean)

It must be read against the mask's **area share** ``mean(mask)``: a CAM that is the same
everywhere (no localisation at all) has ``energy_inside == area_share``, so a nucleus covering
30 % of the image gets 0.30 for free; only ``energy_inside > area_share`` says the map prefers
the nucleus. Both are reported, and their ratio (``energy_inside / area_share``, 1 = no
preference) where defined.

0/0: a CAM that is zero everywhere attends to nothing, so its share is undefined: NaN (left out
of means and medians by ``summarize_energy``, and counted). An empty mask gives area share 0
and energy share 0 (no energy can be inside it).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _check(cam: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cam = np.asarray(cam, float)
    mask = np.asarray(mask)
    if cam.ndim != 2:
        raise ValueError(f'cam must be H x W, got shape {cam.shape}')
    if mask.shape != cam.shape:
        raise ValueError(f'mask shape {mask.shape} differs from cam shape {cam.shape}')
    if mask.dtype != bool:
        raise ValueError(f'mask must be boolean, got {mask.dtype}')
    if not np.all(np.isfinite(cam)):
        raise ValueError('cam contains NaN or infinite values')
    if cam.min() < 0:
        raise ValueError(f'cam must be non-negative (got min {cam.min():g}); apply ReLU / min-max scaling first')
    return cam, mask


def energy_inside(cam: np.ndarray, mask: np.ndarray) -> float:
    """``sum(cam * mask) / sum(cam)``: the share of CAM energy inside ``mask`` (NaN if the CAM is all zero)."""
    cam, mask = _check(cam, mask)
    total = cam.sum()
    if total == 0:
        return float('nan')
    return float(cam[mask].sum() / total)


def area_share(mask: np.ndarray) -> float:
    """Fraction of pixels in ``mask``: the ``energy_inside`` of a uniform CAM."""
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.size == 0:
        raise ValueError(f'mask must be a non-empty boolean array, got {mask.dtype} of shape {mask.shape}')
    return float(mask.mean())


def energy_stats(cam: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``{'energy_inside', 'area_share', 'lift'}``; lift = energy_inside / area_share (NaN if undefined)."""
    e = energy_inside(cam, mask)
    a = area_share(mask)
    return {'energy_inside': e, 'area_share': a, 'lift': e / a if a > 0 and np.isfinite(e) else float('nan')}


def summarize_energy(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean / median of ``energy_inside``, ``area_share`` and ``lift`` over images (NaNs left out)
    plus ``n`` images and ``n_undefined`` (all-zero CAMs)."""
    if not rows:
        raise ValueError('no rows')
    out: dict[str, float] = {'n': len(rows)}
    for key in ('energy_inside', 'area_share', 'lift'):
        v = np.array([r[key] for r in rows], float)
        ok = v[np.isfinite(v)]
        out[f'mean_{key}'] = float(ok.mean()) if len(ok) else float('nan')
        out[f'median_{key}'] = float(np.median(ok)) if len(ok) else float('nan')
    out['n_undefined'] = int(sum(not np.isfinite(r['energy_inside']) for r in rows))
    return out


def nan_to_none(value):
    """JSON has no NaN: undefined numbers (all-zero CAMs) become null."""
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value
