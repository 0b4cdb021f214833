"""Dataset tools: checked I/O, the on-disk format, 6:2:2 splits, converters, synthetic data.

Splits: a 5-fold rotation by default (every item tested once); 3 folds (its folds 0-2) is the
paper's three-fold option (:mod:`hemaseg.data.splits`).

Plain NumPy/OpenCV: nothing here imports OpenMMLab or Detectron2.
"""
from .all_idb1 import convert_all_idb1
from .all_idb2 import annotator_agreement, convert_all_idb2, convert_all_idb2_classification
from .c_nmc_2019 import convert_c_nmc_2019
from .classification import (ClassificationWriter, convert_class_folders, read_classification_split,
                             verify_classification_dataset)
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
    'render_cell_crop', 'convert_wbc_zheng2018', 'annotator_agreement', 'convert_all_idb2',
    'convert_all_idb2_classification', 'ClassificationWriter', 'convert_class_folders', 'read_classification_split',
    'verify_classification_dataset', 'convert_all_idb1', 'convert_c_nmc_2019',
]
