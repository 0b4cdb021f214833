"""Dataset class for the classification converters' layout (spec 002 stage 2)::

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

    <root>/images/<class>/<file>                  the images
    <root>/splits/fold{k}_{train,val,test}.txt    lines '<class>/<file> <label index>' (relative to images/)
    <root>/meta.json                              {'classes': [...], ...}: label index -> class name
    <root>/nucleus_masks/<class>/<stem>.png       0/255 nucleus masks (tools/precompute_masks.py),
                                                  read by the MaskOutsideNucleus transform
"""
from __future__ import annotations

import json
import os.path as osp

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS


def read_meta_classes(data_root: str) -> tuple[str, ...] | None:
    """``classes`` of ``<data_root>/meta.json`` as a tuple, or None when the file is absent."""
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            classes = json.load(f)['classes']
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f'{path}: cannot read its "classes" list ({type(e).__name__}: {e})') from e
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise ValueError(f'{path}: "classes" must be a non-empty list of names, got {classes!r}')
    return tuple(classes)


@DATASETS.register_module()
class BloodCellClsDataset(CustomDataset):
    """Image-level labels from a split file of the layout above (MMPretrain ``CustomDataset``).

    The class names come from ``meta.json`` (so the label indices of the split files keep the
    converter's order); a config may also give ``metainfo=dict(classes=...)``, which must then
    equal meta.json's. Unlike ``CustomDataset`` it fails at construction, naming the file, when
    the ``{fold}`` template of the configs is still in ``ann_file``, the split is missing or
    empty, a label is outside the classes, or an image it lists is missing.
    """

    def __init__(self, data_root: str = '', ann_file: str = '', data_prefix: str | dict = 'images',
                 metainfo: dict | None = None, **kwargs):
        meta_classes = read_meta_classes(data_root)
        given = (metainfo or {}).get('classes')
        if meta_classes is not None:
            if given is not None and tuple(given) != meta_classes:
                raise ValueError(f'classes {tuple(given)} in the config differ from {meta_classes} in '
                                 f'{osp.join(data_root, "meta.json")}; drop metainfo.classes from the config '
                                 '(meta.json fixes the label order)')
            metainfo = dict(metainfo or {}, classes=meta_classes)
        elif given is None:
            raise FileNotFoundError(f'{osp.join(data_root, "meta.json")} does not exist and the config gives no '
                                    'metainfo.classes: run the dataset converter or check data_root')
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix, metainfo=metainfo,
                         **kwargs)

    def load_data_list(self):
        # As mmseg_plugins.BloodCellDataset: the configs' split paths are '{fold}' templates
        # filled by mmengine_plugins.config.load_config.
        if '{fold}' in str(self.ann_file):
            raise ValueError(f"ann_file {self.ann_file} still contains the '{{fold}}' template: load the config "
                             'with mmengine_plugins.config.load_config (as tools/train.py and tools/test.py do) '
                             'or call mmengine_plugins.config.resolve_fold(cfg) after Config.fromfile, so cfg.fold '
                             'selects the split')
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file {self.ann_file!r} does not exist; run the dataset converter or '
                                    'check data_root')
        with open(self.ann_file) as f:
            lines = f.readlines()
        for number, line in enumerate(lines, 1):
            fields = line.strip().rsplit(' ', 1)
            if line.strip() and (len(fields) != 2 or not fields[1].lstrip('-').isdigit()):
                raise ValueError(f'{self.ann_file}:{number}: expected "<class>/<file> <label index>", got {line!r}')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'empty split: {self.ann_file} lists no images')
        num_classes = len(self.metainfo['classes'])
        bad = [d for d in data_list if not 0 <= d['gt_label'] < num_classes]
        if bad:
            raise ValueError(f'{self.ann_file}: label {bad[0]["gt_label"]} of {bad[0]["img_path"]} is outside '
                             f'0..{num_classes - 1} (classes {self.metainfo["classes"]})')
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if missing:
            shown = '\n  '.join(missing[:10])
            raise FileNotFoundError(f'{len(missing)} image(s) listed by {self.ann_file} are missing:\n  {shown}')
        return data_list
