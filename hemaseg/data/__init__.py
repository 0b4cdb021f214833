"""Dataset tools: checked I/O, the on-disk format, 6:2:2 splits, converters, synthetic data.

Splits: a 5-fold rotation by default (every item tested once); 3 folds (its folds 0-2) is the
paper's three-fold option (:mod:`hemaseg.data.splits`).

Plain NumPy/OpenCV: nothing here imports OpenMMLab or Detectron2.
"""
from .io import (DatasetError, check_same_size, map_mask_values, read_image, read_instance_mask, read_mask,
                 write_image, write_mask)
from .layout import CLASS_MODES, DatasetWriter, class_mode, load_meta
from .sn_am import convert_sn_am
from .splits import make_chunks, make_folds, read_splits, verify_splits, write_splits
from .synthetic import generate_synthetic_dataset, render_cell_crop
from .wbc_zheng2018 import convert_wbc_zheng2018

__all__ = [
    'DatasetError', 'check_same_size', 'map_mask_values', 'read_image', 'read_instance_mask', 'read_mask',
    'write_image', 'write_mask', 'CLASS_MODES', 'DatasetWriter', 'class_mode', 'load_meta', 'convert_sn_am',
    'make_chunks', 'make_folds', 'read_splits', 'verify_splits', 'write_splits', 'generate_synthetic_dataset',
    'render_cell_crop', 'convert_wbc_zheng2018',
]
