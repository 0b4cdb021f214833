"""Small synthetic instance-segmentation (COCO) and classification sets in the converters' layouts.

For smoke runs that need data of a task when no real data is at hand (``tools/gpu_check.py``
without ``--data``, tests): stained-smear-like fields with elliptical cells (pale pink background,
purple cytoplasm, darker nucleus), seeded and reproducible. They exercise the pipelines, losses and
evaluators end to end; scores on them say nothing about real performance.
"""
from __future__ import annotations

import json
import os
import os.path as osp

import cv2
import numpy as np
from pycocotools import mask as mask_utils

SPLITS = ('train', 'val', 'test')


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    img = np.full((height, width, 3), (205, 190, 225), np.uint8)  # pale pink (BGR)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def _draw_cell(img: np.ndarray, rng: np.random.Generator, center, axes, nucleus_ratio: float = 0.5) -> np.ndarray:
    """Paint one cell (cytoplasm + nucleus) and return its polygon (k x 2 int32)."""
    poly = cv2.ellipse2Poly(tuple(int(c) for c in center), tuple(int(a) for a in axes), int(rng.integers(0, 180)),
                            0, 360, 12)
    cv2.fillPoly(img, [poly], (150, 70, 120))
    cv2.fillPoly(img, [((poly - center) * nucleus_ratio + center).astype(np.int32)], (110, 30, 70))
    return poly


def generate_synthetic_coco(out: str, num_images: int = 30, size: int = 256, seed: int = 0) -> str:
    """``num_images`` fields with 1-4 cells each, in the COCO layout of
    ``tools/dataset_converters/coco_instances.py``: ``images/``, ``annotations/fold0_{train,val,test}.json``
    (6:2:2 by image, one category ``cell`` with id 1). Returns ``out``."""
    if num_images < 5:
        raise ValueError(f'need at least 5 images for a 6:2:2 split, got {num_images}')
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out, 'images'), exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    images, annotations = [], []
    margin = size // 6
    for img_id in range(num_images):
        img = _background(rng, size, size)
        for _ in range(int(rng.integers(1, 5))):
            center = rng.integers(margin, size - margin, 2)
            axes = (int(rng.integers(size // 14, size // 8)), int(rng.integers(size // 16, size // 9)))
            poly = _draw_cell(img, rng, center, axes)
            rle = mask_utils.encode(np.asfortranarray(cv2.fillPoly(np.zeros((size, size), np.uint8), [poly], 1)))
            annotations.append(dict(id=len(annotations) + 1, image_id=img_id, category_id=1, iscrowd=0,
                                    segmentation=[poly.astype(float).ravel().tolist()], area=float(mask_utils.area(rle)),
                                    bbox=[float(v) for v in mask_utils.toBbox(rle)]))
        name = f'field_{img_id:03d}.png'
        cv2.imwrite(osp.join(out, 'images', name), img)
        images.append(dict(id=img_id, file_name=name, height=size, width=size))
    n_train, n_val = round(0.6 * num_images), round(0.2 * num_images)
    ids = {'train': range(0, n_train), 'val': range(n_train, n_train + n_val),
           'test': range(n_train + n_val, num_images)}
    for split in SPLITS:
        keep = set(ids[split])
        coco = dict(images=[im for im in images if im['id'] in keep],
                    annotations=[a for a in annotations if a['image_id'] in keep],
                    categories=[dict(id=1, name='cell')])
        with open(osp.join(out, 'annotations', f'fold0_{split}.json'), 'w') as f:
            json.dump(coco, f)
    return out


def generate_synthetic_classification(out: str, per_class: int = 20, size: int = 96, seed: int = 0,
                                      classes=('normal', 'blast')) -> str:
    """Single-cell crops of ``len(classes)`` classes told apart by the nucleus' share of the cell
    (class k: 0.35 + 0.25 k), in the layout of the classification converters: ``images/<class>/``,
    ``splits/fold0_{train,val,test}.txt`` (``<class>/<file> <label>``, 6:2:2 per class) and
    ``meta.json`` (``classes``). Returns ``out``."""
    if per_class < 5:
        raise ValueError(f'need at least 5 images per class for a 6:2:2 split, got {per_class}')
    rng = np.random.default_rng(seed)
    lines = {s: [] for s in SPLITS}
    n_train, n_val = round(0.6 * per_class), round(0.2 * per_class)
    for label, name in enumerate(classes):
        os.makedirs(osp.join(out, 'images', name), exist_ok=True)
        for i in range(per_class):
            img = _background(rng, size, size)
            center = size // 2 + rng.integers(-size // 10, size // 10 + 1, 2)
            axes = (int(rng.integers(size // 4, size // 3)), int(rng.integers(size // 5, size // 4)))
            _draw_cell(img, rng, center, axes, nucleus_ratio=0.35 + 0.25 * label)
            rel = f'{name}/{name}_{i:03d}.png'
            cv2.imwrite(osp.join(out, 'images', rel), img)
            split = 'train' if i < n_train else 'val' if i < n_train + n_val else 'test'
            lines[split].append(f'{rel} {label}\n')
    os.makedirs(osp.join(out, 'splits'), exist_ok=True)
    for split, rows in lines.items():
        with open(osp.join(out, 'splits', f'fold0_{split}.txt'), 'w') as f:
            f.writelines(rows)
    with open(osp.join(out, 'meta.json'), 'w') as f:
        json.dump({'classes': list(classes), 'dataset': 'synthetic', 'converter': 'generate_synthetic_classification'},
                  f, indent=2)
    return out
