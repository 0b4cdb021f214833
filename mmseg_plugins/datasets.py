"""Dataset class for the converters' on-disk layout (images/, masks/, splits/)."""
from __future__ import annotations

import os.path as osp

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class BloodCellDataset(BaseSegDataset):
    """Single-cell crops with nucleus masks, written by ``tools/dataset_converters``.

    ``ann_file`` is a split file (one stem per line). Unlike ``BaseSegDataset`` it fails
    at construction, naming the file, when a split is empty or lists a stem whose image
    or mask is missing, instead of failing later inside a dataloader worker.
    The default classes are background/nucleus; the 3-class WBC configs pass
    ``metainfo=dict(classes=('background', 'cytoplasm', 'nucleus'), ...)``.
    """

    METAINFO = dict(classes=('background', 'nucleus'), palette=[[0, 0, 0], [255, 0, 255]])

    def __init__(self, img_suffix='.png', seg_map_suffix='.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self):
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file {self.ann_file} does not exist; run a converter in '
                                    'tools/dataset_converters/ or check data_root')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'empty split: {self.ann_file or self.data_prefix.get("img_path")} lists no images')
        missing = [p for d in data_list for p in (d['img_path'], d.get('seg_map_path'))
                   if p is not None and not osp.isfile(p)]
        if missing:
            shown = '\n  '.join(missing[:10])
            raise FileNotFoundError(f'{len(missing)} file(s) listed by {self.ann_file} are missing:\n  {shown}')
        return data_list
