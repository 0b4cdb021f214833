"""Tiny synthetic classification dataset and random-weight checkpoint for the classifier tests.

Layout (the one the classification converters write): ``<root>/images/<class>/<file>``,
``<root>/nucleus_masks/<class>/<stem>.png`` (0/255), ``<root>/splits/fold0_{train,val,test}.txt``
with lines ``<class>/<file> <label>`` and ``<root>/meta.json`` (``classes``). Images are 64x80
(h x w, the Leukemia Dataset's 256x320 aspect): pink background, a few red cells and one purple
elliptic "nucleus" whose size depends on the class; the mask is that ellipse.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('ALL-L1', 'ALL-L2', 'ALL-L3')
SHAPE = (64, 80)


def make_cls_dataset(root: str, counts=None, seed: int = 0) -> dict:
    """Write the dataset; ``counts`` = images per class and split (default train 2, val 1, test 2).
    Returns ``{'root', 'classes', 'splits': {split: [(relative path, label), ...]}}``."""
    counts = counts or {'train': 2, 'val': 1, 'test': 2}
    rng = np.random.default_rng(seed)
    h, w = SHAPE
    splits = {s: [] for s in counts}
    for label, cls in enumerate(CLASSES):
        os.makedirs(osp.join(root, 'images', cls), exist_ok=True)
        os.makedirs(osp.join(root, 'nucleus_masks', cls), exist_ok=True)
        k = 0
        for split, n in counts.items():
            for _ in range(n):
                img = np.empty((h, w, 3), np.uint8)
                img[:] = (235, 200, 215)  # RGB pink background
                for _ in range(3):
                    c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
                    cv2.circle(img, c, 7, (210, 120, 130), -1)
                mask = np.zeros((h, w), np.uint8)
                centre = (int(rng.integers(28, w - 28)), int(rng.integers(22, h - 22)))
                axes = (8 + 3 * label, 6 + 2 * label)
                cv2.ellipse(mask, centre, axes, float(rng.integers(0, 180)), 0, 360, 255, -1)
                img[mask > 0] = (110 + 20 * label, 40, 150)
                stem = f'{cls}_{k:02d}'
                cv2.imwrite(osp.join(root, 'images', cls, stem + '.png'), img[:, :, ::-1])
                cv2.imwrite(osp.join(root, 'nucleus_masks', cls, stem + '.png'), mask)
                splits[split].append((f'{cls}/{stem}.png', label))
                k += 1
    os.makedirs(osp.join(root, 'splits'), exist_ok=True)
    for split, items in splits.items():
        with open(osp.join(root, 'splits', f'fold0_{split}.txt'), 'w') as f:
            f.writelines(f'{rel} {label}\n' for rel, label in items)
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump({'classes': list(CLASSES)}, f)
    return {'root': root, 'classes': list(CLASSES), 'splits': splits}


def data_root_options(root: str) -> list:
    """``--cfg-options`` pointing every split of ``tests/configs/cls_tiny.py`` at ``root``."""
    return [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]


def save_random_checkpoint(config: str, path: str, seed: int = 0, calibrate_images=None) -> None:
    """Build ``config``'s classifier with random weights and save ``{'state_dict', 'meta'}`` to ``path``.

    Nothing is trained. With ``calibrate_images`` (a list of H x W x 3 RGB uint8 arrays) the
    BatchNorm running statistics are set from a few forward passes in train mode, so that
    activations (and hence CAMs) are not all zero or saturated in eval mode.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    torch.manual_seed(seed)
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    if calibrate_images:
        batch = torch.stack([torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float()
                             for im in calibrate_images])
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # cumulative average over the passes
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(model.data_preprocessor({'inputs': batch}, False)['inputs'], mode='tensor')
    model.eval()
    meta = {'dataset_meta': {'classes': list(cfg.get('classes', CLASSES))}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
