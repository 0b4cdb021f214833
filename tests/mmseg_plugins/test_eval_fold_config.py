"""Fold selection really changes the files read: ``{fold}`` templates in the base configs,
filled in by mmengine_plugins.config.load_config after --cfg-options (issue "Evaluation that cannot
mislead"), and the mmseg metric's 0/0 rule on an empty prediction."""
import argparse
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.config import Config  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

from mmengine_plugins.config import add_common_args, load_config, resolve_fold  # noqa: E402
from conftest import REPO_ROOT  # noqa: E402

SEG_CONFIG = osp.join(REPO_ROOT, 'configs/segnext/segnext_mscan-t_1xb8-600it_wbc-128x128.py')
SYN_CONFIG = osp.join(REPO_ROOT, 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_synthetic-128x128.py')
DET_CONFIGS = [osp.join(REPO_ROOT, c) for c in ('configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550x550.py',
                                               'configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py')]
SPLITS = ('train', 'val', 'test')


def tool_args(config, *options):
    """The Namespace tools/train.py builds from its command line."""
    p = argparse.ArgumentParser()
    p.add_argument('config')
    add_common_args(p)
    return p.parse_args([config, *(['--cfg-options', *options] if options else [])])


def build_seg_dataset(ds_cfg):
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    import mmseg_plugins  # noqa: F401  (registers BloodCellDataset)
    with DefaultScope.overwrite_default_scope('mmseg'):  # the pipelines name mmseg transforms
        return DATASETS.build(ds_cfg)


def ann_files(cfg):
    return [cfg[f'{s}_dataloader'].dataset.ann_file for s in SPLITS]


@pytest.mark.parametrize('config', [SEG_CONFIG, SYN_CONFIG])
def test_cfg_options_fold_selects_the_segmentation_splits(config):
    assert ann_files(load_config(tool_args(config))) == [f'splits/fold0_{s}.txt' for s in SPLITS]  # default
    cfg = load_config(tool_args(config, 'fold=2'))
    assert cfg.fold == 2
    assert ann_files(cfg) == [f'splits/fold2_{s}.txt' for s in SPLITS]


@pytest.mark.parametrize('config', DET_CONFIGS)
def test_cfg_options_fold_selects_the_coco_files_and_evaluators(config):
    cfg = load_config(tool_args(config, 'fold=2'))
    assert ann_files(cfg) == [f'annotations/fold2_{s}.json' for s in SPLITS]
    assert cfg.val_evaluator.ann_file == 'data/wbc_coco/annotations/fold2_val.json'
    assert cfg.test_evaluator.ann_file == 'data/wbc_coco/annotations/fold2_test.json'


def _child(tmp_path, base, body):
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{base!r}]\n{body}\n')
    return str(path)


def test_child_config_fold_reads_that_folds_stems(tmp_path, tiny_dataset):
    child = _child(tmp_path, SYN_CONFIG, f'fold = 1\ndata_root = {tiny_dataset!r}\n' + '\n'.join(
        f'{s}_dataloader = dict(dataset=dict(data_root=data_root))' for s in SPLITS))
    cfg = load_config(tool_args(child))
    assert ann_files(cfg) == [f'splits/fold1_{s}.txt' for s in SPLITS]
    for split in SPLITS:
        ds = build_seg_dataset(cfg[f'{split}_dataloader'].dataset)
        read = sorted(osp.splitext(osp.basename(ds.get_data_info(i)['img_path']))[0] for i in range(len(ds)))
        with open(osp.join(tiny_dataset, 'splits', f'fold1_{split}.txt')) as f:
            assert read == sorted(f.read().split())
        with open(osp.join(tiny_dataset, 'splits', f'fold0_{split}.txt')) as f:
            assert read != sorted(f.read().split())  # not silently fold 0
    # --cfg-options still override the child's fold
    assert ann_files(load_config(tool_args(child, 'fold=3')))[2] == 'splits/fold3_test.txt'


def test_template_without_fold_or_with_a_bad_fold_names_the_key(tmp_path):
    path = tmp_path / 'nofold.py'
    path.write_text("train_dataloader = dict(dataset=dict(ann_file='splits/fold{fold}_train.txt'))\n")
    with pytest.raises(SystemExit, match=r"train_dataloader\.dataset\.ann_file=.*no top-level `fold`"):
        load_config(tool_args(str(path)))
    with pytest.raises(SystemExit, match=r"fold must be a non-negative integer .*train_dataloader.*'x'"):
        load_config(tool_args(str(path), 'fold=x'))
    assert load_config(tool_args(str(path), 'fold=4')).train_dataloader.dataset.ann_file == 'splits/fold4_train.txt'


def test_wrapped_datasets_and_evaluator_lists_are_resolved():
    cfg = Config(dict(
        fold=3,
        train_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
            dict(ann_file='a/fold{fold}_train.json'),
            dict(type='RepeatDataset', times=2, dataset=dict(ann_file='b/fold{fold}_train.json'))])),
        val_evaluator=[dict(type='CocoMetric', ann_file='a/fold{fold}_val.json'), dict(type='Other')],
        test_evaluator=dict(type='CocoMetric', ann_file='fixed.json')))
    assert resolve_fold(cfg) == {'train_dataloader.dataset.datasets.0.ann_file': 'a/fold3_train.json',
                                 'train_dataloader.dataset.datasets.1.dataset.ann_file': 'b/fold3_train.json',
                                 'val_evaluator.0.ann_file': 'a/fold3_val.json'}
    assert cfg.train_dataloader.dataset.datasets[1].dataset.ann_file == 'b/fold3_train.json'
    assert cfg.val_evaluator[0].ann_file == 'a/fold3_val.json' and cfg.test_evaluator.ann_file == 'fixed.json'


def test_dataset_built_from_an_unresolved_config_refuses_the_template(tiny_dataset):
    cfg = Config.fromfile(SYN_CONFIG)  # no load_config: '{fold}' is still in the path
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = tiny_dataset
    with pytest.raises(ValueError, match=r"still contains the '\{fold\}' template.*resolve_fold"):
        build_seg_dataset(ds_cfg)
    resolve_fold(cfg)
    assert len(build_seg_dataset(cfg.test_dataloader.dataset)) == 4  # 20 images, fold 0 test chunk


def _sample(pred, gt, name):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    s.set_metainfo(dict(img_path=f'/x/{name}'))
    return s.to_dict()


def test_nucleus_metric_scores_an_empty_prediction_zero_precision(tmp_path):
    from mmseg_plugins import NucleusMetric
    metric = NucleusMetric(per_image_csv=str(tmp_path / 'per_image.csv'))
    metric.dataset_meta = dict(classes=('background', 'nucleus'))
    gt = np.array([[1, 1, 0], [0, 0, 0]])
    metric.process({}, [_sample(gt, gt, 'hit.png'),                          # perfect
                        _sample(np.zeros((2, 3), int), gt, 'missed.png'),    # nothing predicted, nucleus present
                        _sample(np.zeros((2, 3), int), np.zeros((2, 3), int), 'none.png')])  # both empty
    out = metric.evaluate(3)
    assert out['nucleus/mPrecision'] == pytest.approx(2 / 3)  # (1 + 0 + 1) / 3; was 1.0 under the old 0/0 rule
    assert out['nucleus/mRecall'] == pytest.approx(2 / 3) and out['nucleus/mDice'] == pytest.approx(2 / 3)
    assert out['nucleus/Precision'] == 1.0 and out['nucleus/Recall'] == pytest.approx(0.5)  # pooled tp2 fn2
    rows = (tmp_path / 'per_image.csv').read_text().splitlines()
    assert rows[2] == 'missed.png,0,0,2,4,0.000000,0.000000,0.666667,0.000000,0.000000,1.000000'  # Spec: tn4 fp0
    assert rows[3] == 'none.png,0,0,0,6,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000'
