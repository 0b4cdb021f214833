"""A tiny classification dataset in the converters' layout (images/<class>/<file>, splits/, meta.json)
for the classifier tests: one dark-purple "nucleus" per image on a pink background, its shape
depending on the class, so the handcrafted segmenter finds it and a classifier could learn it."""
import json
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('alpha', 'beta', 'gamma')
BACKGROUND_RGB = (232, 196, 206)
NUCLEUS_RGB = (96, 40, 150)


def nucleus_disc(size: int, cls: int, jitter: int) -> np.ndarray:
    """bool mask of the synthetic nucleus of class ``cls`` (ellipse axes grow with the class)."""
    mask = np.zeros((size, size), np.uint8)
    c = size // 2 + jitter
    axes = (size // 4 + cls, size // 4 + 2 - cls)
    cv2.ellipse(mask, (c, size // 2), axes, 30 * cls, 0, 360, 1, -1)
    return mask.astype(bool)


def make_class_folder_dataset(root: str, per_class: int = 4, size: int = 32, seed: int = 0,
                              ext: str = '.png') -> dict:
    """Write the dataset; returns ``{'<class>/<file>': nucleus bool mask}``. Fold 0: per class the
    first ``per_class - 2`` images train, the next one val, the last one test."""
    rng = np.random.default_rng(seed)
    truth, lines = {}, {'train': [], 'val': [], 'test': [], 'all': []}
    for label, name in enumerate(CLASSES):
        os.makedirs(osp.join(root, 'images', name), exist_ok=True)
        for i in range(per_class):
            nucleus = nucleus_disc(size, label, int(rng.integers(-2, 3)))
            rgb = np.empty((size, size, 3), np.uint8)
            rgb[:] = BACKGROUND_RGB
            rgb[nucleus] = NUCLEUS_RGB
            rgb = np.clip(rgb.astype(int) + rng.integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
            rel = f'{name}/{name}_{i}{ext}'
            cv2.imwrite(osp.join(root, 'images', rel), rgb[:, :, ::-1])
            truth[rel] = nucleus
            split = 'train' if i < per_class - 2 else 'val' if i == per_class - 2 else 'test'
            lines[split].append(f'{rel} {label}')
            lines['all'].append(f'{rel} {label}')
    os.makedirs(osp.join(root, 'splits'), exist_ok=True)
    for split, rows in lines.items():
        fname = 'all.txt' if split == 'all' else f'fold0_{split}.txt'
        with open(osp.join(root, 'splits', fname), 'w') as f:
            f.write('\n'.join(rows) + '\n')
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(dict(task='classification', classes=list(CLASSES)), f)
    return truth
