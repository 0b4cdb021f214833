"""Spec 002 stage 1 in mmseg: HandcraftedNucleusSegmentor and EnsembleNucleusSegmentor through
tools/test.py (checkpoint `none`), NucleusMetric's extra_predictions, and checkpoint handling."""
import csv
import json
import os.path as osp

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT, run_tool  # noqa: E402

from hemaseg.data.io import read_image, read_mask  # noqa: E402
from hemaseg.handcrafted import HandcraftedParams, segment_nucleus_handcrafted  # noqa: E402
from hemaseg.metrics import confusion_counts, scores  # noqa: E402

CONFIGS = osp.join(REPO_ROOT, 'tests', 'configs')
HANDCRAFTED_CONFIG = osp.join(CONFIGS, 'handcrafted_tiny.py')
ENSEMBLE_CONFIG = osp.join(CONFIGS, 'ensemble_tiny.py')


def data_opts(root):  # the tiny configs are test-only: no train_dataloader
    return [f'{d}.dataset.data_root={root}' for d in ('val_dataloader', 'test_dataloader')]


def run_test_tool(config, checkpoint, work, root, *extra):
    run_tool([osp.join(REPO_ROOT, 'tools', 'test.py'), config, checkpoint, '--work-dir', work,
              '--per-image-csv', work / 'per_image.csv', '--cfg-options', *data_opts(root), *extra])
    with open(work / 'test_metrics.json') as f:
        metrics = json.load(f)
    with open(work / 'per_image.csv') as f:
        rows = list(csv.DictReader(f))
    return metrics, rows


def handcrafted_counts(root, image_name, params=HandcraftedParams()):
    """Counts of the handcrafted mask of the original file, computed here without mmseg."""
    stem = osp.splitext(image_name)[0]
    mask = segment_nucleus_handcrafted(read_image(osp.join(root, 'images', f'{stem}.png')), params)
    return confusion_counts(mask.astype(np.uint8), read_mask(osp.join(root, 'masks', f'{stem}.png')))


def counts_of(row, prefix=''):
    return tuple(int(row[prefix + k]) for k in ('tp', 'fp', 'fn', 'tn'))


def test_handcrafted_segmentor_through_test_tool_without_checkpoint(tiny_dataset, tmp_path):
    # 'NONE': any case. The pipeline resizes the 64x64 crops to 128x128; the segmentor must
    # still see the original pixels, so its counts equal those of the file processed directly.
    metrics, rows = run_test_tool(HANDCRAFTED_CONFIG, 'NONE', tmp_path, tiny_dataset)
    assert len(rows) >= 4
    per_image = []
    for row in rows:
        c = handcrafted_counts(tiny_dataset, row['image'])
        assert counts_of(row) == (c.tp, c.fp, c.fn, c.tn), row['image']
        assert c.tp + c.fp + c.fn + c.tn == 64 * 64  # scored at the original size
        per_image.append(scores(c))
    for name in ('Dice', 'Specificity'):
        assert metrics[f'nucleus/m{name}'] == pytest.approx(np.mean([s[name] for s in per_image]))
    assert metrics['nucleus/mDice'] > 0.5  # the synthetic nuclei are purple on pink: mostly found


@pytest.fixture(scope='module')
def ensemble_setup(tiny_dataset, tmp_path_factory):
    """The tiny ensemble config resolved on the synthetic data, and a saved deep checkpoint whose
    (random) U-Net gives a deep mask that overlaps the handcrafted one only in part on some image,
    so the AND is neither of its inputs. Seeds are tried in order until that holds."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    import mmseg_plugins  # noqa: F401
    from mmengine_plugins.config import resolve_fold
    from mmseg.registry import DATASETS, MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(ENSEMBLE_CONFIG)
    cfg.test_dataloader.dataset.data_root = tiny_dataset
    resolve_fold(cfg)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    ckpt = str(tmp_path_factory.mktemp('deep') / 'deep.pth')
    for seed in range(20):
        torch.manual_seed(seed)
        deep = MODELS.build(cfg.model.deep_model).eval()
        with torch.no_grad():
            deep_out = deep.test_step(batch)
        overlaps = []
        for s in deep_out:
            hand = segment_nucleus_handcrafted(read_image(s.img_path))
            d = s.pred_sem_seg.data[0].numpy() == 1
            overlaps.append((hand & d).sum() >= 150 and (hand & ~d).any() and (d & ~hand).any())
        if any(overlaps):
            torch.save({'state_dict': deep.state_dict(), 'meta': {}}, ckpt)
            return cfg, batch, ckpt, deep_out
    pytest.fail('no seed gave a deep mask that partly overlaps the handcrafted one')


def and_then_opening(hand, deep, min_area=150):
    """Eq. 12 + area opening written independently of hemaseg: label 4-connected, keep >= min_area."""
    both = hand & deep
    labels, n = ndi.label(both)  # scipy's default structure is 4-connected
    keep = [k for k in range(1, n + 1) if (labels == k).sum() >= min_area]
    return np.isin(labels, keep)


def test_ensemble_predicts_and_of_handcrafted_and_deep(ensemble_setup):
    from mmseg.registry import MODELS
    cfg, batch, ckpt, deep_out = ensemble_setup
    model = MODELS.build({**cfg.model, 'deep_checkpoint': ckpt}).eval()
    with torch.no_grad():
        out = model.test_step(batch)
    differs = 0
    for s, d in zip(out, deep_out):
        hand = s.pred_handcrafted.data[0].numpy() == 1
        deep = s.pred_deep.data[0].numpy() == 1
        ens = s.pred_sem_seg.data[0].numpy() == 1
        assert hand.shape == deep.shape == ens.shape == tuple(s.ori_shape) == (64, 64)
        assert np.array_equal(hand, segment_nucleus_handcrafted(read_image(s.img_path)))  # original pixels
        assert torch.equal(s.pred_deep.data, d.pred_sem_seg.data)  # the checkpoint's U-Net, resized back
        assert np.array_equal(ens, and_then_opening(hand, deep))
        assert 'seg_logits' not in s
        differs += not np.array_equal(ens, hand) and not np.array_equal(ens, deep)
    assert differs  # the AND did something on at least one image


def test_ensemble_through_test_tool_reports_three_masks(ensemble_setup, tiny_dataset, tmp_path):
    _, _, ckpt, deep_out = ensemble_setup
    metrics, rows = run_test_tool(ENSEMBLE_CONFIG, 'none', tmp_path, tiny_dataset, f'model.deep_checkpoint={ckpt}')
    for prefix in ('', 'handcrafted_', 'deep_'):
        for name in ('Dice', 'mDice', 'IoU', 'mSpecificity'):
            assert f'nucleus/{prefix}{name}' in metrics
    deep_by_name = {osp.basename(s.img_path): s.pred_sem_seg.data[0].numpy() for s in deep_out}
    for row in rows:
        c = handcrafted_counts(tiny_dataset, row['image'])
        assert counts_of(row, 'handcrafted_') == (c.tp, c.fp, c.fn, c.tn)
        gt = read_mask(osp.join(tiny_dataset, 'masks', row['image']))
        d = confusion_counts(deep_by_name[row['image']], gt)
        assert counts_of(row, 'deep_') == (d.tp, d.fp, d.fn, d.tn)
        # the ensemble is inside both masks: no more true/false positives than either
        assert int(row['tp']) <= min(c.tp, d.tp) and int(row['fp']) <= min(c.fp, d.fp)
    hand_dice = [scores(handcrafted_counts(tiny_dataset, r['image']))['Dice'] for r in rows]
    assert metrics['nucleus/handcrafted_mDice'] == pytest.approx(np.mean(hand_dice))


def test_deep_checkpoint_errors_and_a_unet_checkpoint_loads_into_the_ensemble(ensemble_setup, tmp_path):
    from mmengine.runner import load_checkpoint

    from mmseg.registry import MODELS
    cfg, _, ckpt, _ = ensemble_setup
    missing = str(tmp_path / 'no_such.pth')
    with pytest.raises(FileNotFoundError, match='no_such.pth'):
        MODELS.build({**cfg.model, 'deep_checkpoint': missing})
    with pytest.raises(ValueError, match='dilaton'):
        MODELS.build({**cfg.model, 'handcrafted': dict(dilaton=2)})
    torch.manual_seed(123)
    model = MODELS.build(cfg.model)  # deep_checkpoint None: initial weights
    saved = torch.load(ckpt)['state_dict']
    key = next(k for k, v in saved.items() if v.is_floating_point())
    assert not torch.equal(model.deep_model.state_dict()[key], saved[key])
    load_checkpoint(model, ckpt, strict=True)  # what tools/test.py CONFIG UNET.pth does
    assert all(torch.equal(model.deep_model.state_dict()[k], v) for k, v in saved.items())
    with pytest.raises(NotImplementedError, match='inference-only'):
        model.loss(None, None)


def test_handcrafted_without_img_path_uses_the_denormalised_input():
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import mmseg_plugins  # noqa: F401
    register_all_modules(init_default_scope=True)
    rng = np.random.default_rng(0)
    rgb = np.full((48, 48, 3), (230, 190, 200), np.float64)
    yy, xx = np.mgrid[:48, :48]
    rgb[(yy - 24) ** 2 + (xx - 20) ** 2 <= 12 ** 2] = (110, 60, 150)
    rgb = np.clip(np.rint(rgb + rng.normal(0, 3, rgb.shape)), 0, 255).astype(np.uint8)
    expected = segment_nucleus_handcrafted(rgb, HandcraftedParams(min_area=50))
    assert expected.sum() > 300
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    for pre, image in ((None, rgb[:, :, ::-1]),  # default: no normalisation, BGR as mmcv loads it
                       (dict(type='SegDataPreProcessor', mean=mean.tolist(), std=std.tolist(), bgr_to_rgb=True),
                        (rgb - mean) / std)):
        model = MODELS.build(dict(type='HandcraftedNucleusSegmentor', handcrafted=dict(min_area=50),
                                  data_preprocessor=pre))
        inputs = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
        [sample] = model.predict(inputs)
        assert np.array_equal(sample.pred_sem_seg.data[0].numpy() == 1, expected)


def test_metric_scores_extra_predictions_by_hand(tmp_path):
    from mmengine.structures import PixelData

    from mmseg.structures import SegDataSample
    from mmseg_plugins.evaluation import NucleusMetric
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])

    def sample(pred, hand, name):
        s = SegDataSample()
        s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
        s.pred_handcrafted = PixelData(data=torch.as_tensor(hand)[None])
        s.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
        s.set_metainfo(dict(img_path=f'/x/{name}'))
        return s.to_dict()

    metric = NucleusMetric(extra_predictions=('handcrafted',), per_image_csv=str(tmp_path / 'per_image.csv'))
    metric.dataset_meta = dict(classes=('background', 'nucleus'))
    metric.process({}, [sample(gt, np.ones_like(gt), 'a.png'), sample(np.zeros_like(gt), gt, 'b.png')])
    out = metric.evaluate(2)
    # main: a perfect (Dice 1, Spec 1), b empty (Dice 0, Spec 1): mDice .5; pooled tp4 fn4 -> 8/12
    assert out['nucleus/mDice'] == pytest.approx(0.5) and out['nucleus/Dice'] == pytest.approx(8 / 12)
    # handcrafted: a all-nucleus (tp4 fp4: Dice 8/12, Spec 0), b perfect: mDice (2/3 + 1) / 2, mSpec .5
    assert out['nucleus/handcrafted_mDice'] == pytest.approx((2 / 3 + 1) / 2)
    assert out['nucleus/handcrafted_mSpecificity'] == pytest.approx(0.5)
    assert out['nucleus/handcrafted_Specificity'] == pytest.approx(4 / 8)  # pooled tn4 fp4
    rows = list(csv.DictReader(open(tmp_path / 'per_image.csv')))
    assert counts_of(rows[0], 'handcrafted_') == (4, 4, 0, 0) and rows[0]['handcrafted_Dice'] == f'{2 / 3:.6f}'
    metric = NucleusMetric(extra_predictions=('deep',))
    metric.dataset_meta = dict(classes=('background', 'nucleus'))
    with pytest.raises(KeyError, match="a.png.*'pred_deep'"):
        metric.process({}, [sample(gt, gt, 'a.png')])
    with pytest.raises(ValueError, match='extra_predictions'):
        NucleusMetric(extra_predictions=('deep', 'deep'))


PROJECT_SEG_CONFIGS = sorted(
    p for folder in ('handcrafted_nucleus', 'nucleus_ensemble')
    for p in __import__('glob').glob(osp.join(REPO_ROOT, 'configs', folder, '*.py')))
assert len(PROJECT_SEG_CONFIGS) == 9, PROJECT_SEG_CONFIGS  # 3 handcrafted + 3 ensembles x 2 input sizes


@pytest.mark.parametrize('path', PROJECT_SEG_CONFIGS, ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_project_configs_build_as_the_runner_builds_them(path):
    """The Runner gives the model the config's top-level ``data_preprocessor`` (the U-Net configs the
    ensembles inherit have one): building must accept it, as ``tools/test.py`` does."""
    from types import SimpleNamespace

    from mmengine_plugins.config import load_config
    from mmengine.registry import init_default_scope

    from mmseg.registry import MODELS
    cfg = load_config(SimpleNamespace(config=path, cfg_options={'fold': 1}, launcher='none', local_rank=0,
                                      work_dir=None))
    assert cfg.test_dataloader.dataset.ann_file == 'splits/fold1_test.txt'
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope('mmseg')
    model = MODELS.build(model_cfg)
    assert type(model).__name__ in ('HandcraftedNucleusSegmentor', 'EnsembleNucleusSegmentor')
