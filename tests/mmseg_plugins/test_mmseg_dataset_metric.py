"""BloodCellDataset and NucleusMetric: clear errors on bad input, correct numbers on good."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.structures import PixelData  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from mmseg_plugins import BloodCellDataset, NucleusMetric  # noqa: E402


def make(root, split):
    return BloodCellDataset(data_root=root, data_prefix=dict(img_path='images', seg_map_path='masks'),
                            ann_file=f'splits/{split}', pipeline=[])


def test_dataset_lists_the_split(tiny_dataset):
    ds = make(tiny_dataset, 'fold0_train.txt')
    stems = open(osp.join(tiny_dataset, 'splits', 'fold0_train.txt')).read().split()
    assert len(ds) == len(stems)
    assert ds.metainfo['classes'] == ('background', 'nucleus')


def test_missing_split_file_is_named(tiny_dataset):
    with pytest.raises(FileNotFoundError, match='fold9_train.txt'):
        make(tiny_dataset, 'fold9_train.txt')


def test_empty_split_and_missing_image_are_named(tiny_dataset, tmp_path):
    root = tmp_path / 'ds'
    (root / 'splits').mkdir(parents=True)
    os.symlink(osp.join(tiny_dataset, 'images'), root / 'images')
    os.symlink(osp.join(tiny_dataset, 'masks'), root / 'masks')
    (root / 'splits' / 'empty.txt').write_text('')
    with pytest.raises(ValueError, match='empty split'):
        make(str(root), 'empty.txt')
    stem = sorted(os.listdir(osp.join(tiny_dataset, 'images')))[0][:-4]
    (root / 'splits' / 'bad.txt').write_text(f'{stem}\nno_such_cell\n')
    with pytest.raises(FileNotFoundError, match='no_such_cell.png'):
        make(str(root), 'bad.txt')


def sample(pred, gt, name='a.png'):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    s.set_metainfo(dict(img_path=f'/x/{name}'))
    return s.to_dict()


def test_metric_matches_hand_computed_values(tmp_path):
    metric = NucleusMetric(per_image_csv=str(tmp_path / 'per_image.csv'))
    metric.dataset_meta = dict(classes=('background', 'nucleus'))
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])
    metric.process({}, [sample(np.array([[1, 0, 1, 0], [1, 1, 0, 0]]), gt, 'a.png'),
                        sample(np.zeros((2, 4), int), gt, 'b.png')])
    out = metric.evaluate(2)
    # a: tp3 fp1 fn1 -> Dice .75; b: tp0 fn4 -> Dice 0; pooled tp3 fp1 fn5 -> 6/12
    assert out['nucleus/mDice'] == pytest.approx(0.375)
    assert out['nucleus/Dice'] == pytest.approx(0.5)
    rows = (tmp_path / 'per_image.csv').read_text().splitlines()
    assert rows[1].startswith('a.png,3,1,1,3,0.750000')


def test_metric_rejects_unexpected_ground_truth_values():
    metric = NucleusMetric()
    metric.dataset_meta = dict(classes=('background', 'nucleus'))
    with pytest.raises(ValueError, match=r'bad\.png.*\[128\]'):
        metric.process({}, [sample(np.zeros((2, 2), int), np.full((2, 2), 128), 'bad.png')])
