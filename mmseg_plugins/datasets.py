"""Dataset class for the converters' on-disk layout (images/, masks/, splits/)."""
from __future__ import annotations

import os.path as osp

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class BloodCellDataset(BaseSegDataset):
    """Single-cell crops with nucleus masks, written by ``tools/dataset_converters``.

    ``ann_file`` is a split file (one stem per line), with the configs' ``{fold}``
    template already filled in (``mmengine_plugins.config.resolve_fold``). Unlike
    ``BaseSegDataset`` it fails at construction, naming the file, when the template is
    still there, a split is empty or lists a stem whose image or mask is missing,
    instead of failing later inside a dataloader worker.
    The default classes are background/nucleus; other targets name theirs with
    ``metainfo=dict(classes=(...), palette=...)`` (labels are never remapped:
    :meth:`get_label_map`).
    """

    METAINFO = dict(classes=('background', 'nucleus'), palette=[[0, 0, 0], [255, 0, 255]])

    @classmethod
    def get_label_map(cls, new_classes=None):
        """No remapping: the converters already write label ``k`` for ``metainfo['classes'][k]``
        (their meta.json), so ``metainfo`` only names the classes (e.g. ``('background', 'cell')``
        for ALL-IDB2 whole cells). mmseg's default would try to map the names onto
        ``('background', 'nucleus')`` and refuse any other name."""
        return None

    def __init__(self, img_suffix='.png', seg_map_suffix='.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self):
        # The base configs write ann_file as a template ('splits/fold{fold}_train.txt') that
        # mmengine_plugins.config.load_config fills in from cfg.fold; a config built any other way
        # would otherwise fail with a confusing "does not exist" (or worse, a user might
        # "fix" it by hard-coding fold 0).
        if '{fold}' in str(self.ann_file):
            raise ValueError(f"ann_file {self.ann_file} still contains the '{{fold}}' template: load the config "
                             'with mmengine_plugins.config.load_config (as tools/train.py and tools/test.py do) '
                             'or call mmengine_plugins.config.resolve_fold(cfg) after Config.fromfile, so cfg.fold '
                             'selects the split')
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
