"""Data transforms of the mmseg side."""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from hemaseg.data.field_windows import sample_field_window


@TRANSFORMS.register_module()
class RandomFieldWindow(BaseTransform):
    """Cut a training window like the ones whole-field inference cuts (:mod:`hemaseg.data.field_windows`):
    rescale (per-image single-crop scale or a fixed one, jittered), a window of ``crop_size`` at a
    random place, a share ``empty_prob`` of windows without nucleus, the part beyond the image
    ignored by the loss. Replaces the ``Resize`` of a single-crop training pipeline: put it after
    ``LoadAnnotations`` and before the photometric / flip transforms.

    The filled part is labelled ``ignore_index``: mmseg 1.2.2's ``CrossEntropyLoss`` with a
    ``class_weight`` fails on such labels (it indexes the weights by every label, 255 included, to
    compute its average), as it does after ``RandomRotate``'s padding; use it unweighted here.

    Required keys: ``img``, ``gt_seg_map``. Modified: ``img``, ``gt_seg_map``, ``img_shape``.
    Added: ``scale_factor`` (w, h), ``field_window_empty``.

    Args:
        crop_size: ``(h, w)`` of the window (the network input).
        scale: network-input pixels per source pixel; None (default): network input / image size.
        scale_jitter: factor range ``[1 / j, j]`` around the scale.
        empty_prob: share of windows asked to hold no pixel of ``nucleus_label``.
        nucleus_label: the class whose absence makes a window empty.
        ignore_index: mask value beyond the image (mmseg's default 255).
        min_overlap: least share of a window on the image.
    """

    def __init__(self, crop_size: tuple, scale: Optional[float] = None, scale_jitter: float = 1.25,
                 empty_prob: float = 0.3, nucleus_label: int = 1, ignore_index: int = 255,
                 min_overlap: float = 0.25, max_tries: int = 20):
        super().__init__()
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        self.crop_size = tuple(int(v) for v in crop_size)
        self.kwargs = dict(scale=scale, scale_jitter=scale_jitter, empty_prob=empty_prob, nucleus_label=nucleus_label,
                           ignore_index=ignore_index, min_overlap=min_overlap, max_tries=max_tries)
        # Fail at config build, naming the bad argument, not in a dataloader worker.
        sample_field_window(np.random.default_rng(0), np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8),
                            self.crop_size, **self.kwargs)

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            raise KeyError(f'RandomFieldWindow needs the mask: put it after LoadAnnotations '
                           f'({results.get("img_path", "an image")} has no gt_seg_map)')
        # numpy's global state is what mmengine seeds per worker and rank
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        window = sample_field_window(rng, results['img'], results['gt_seg_map'], self.crop_size, **self.kwargs)
        results['img'] = window.image
        results['gt_seg_map'] = window.mask
        results['img_shape'] = window.image.shape[:2]
        results['scale_factor'] = (window.scale[1], window.scale[0])
        results['field_window_empty'] = window.empty
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{self.__class__.__name__}(crop_size={self.crop_size}, {args})'
