"""The configs trained for whole fields (configs/*/*_wbc-fields-*.py): each builds its model and the single-crop
model of the same name, and its training data are windows like whole-field inference's (128x128,
cells off-centre, some windows without nucleus, the part beyond the image ignored), while its
validation/test pipeline and inference scale stay those of the single-crop configs."""
import glob
import os.path as osp

import numpy as np
import pytest

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT  # noqa: E402

import mmseg_plugins  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmseg.registry import DATASETS, MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=False)


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build in mmseg's scope whatever scope earlier test modules left (restored afterwards)."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield
FIELD_CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*_wbc-fields-*.py')))
SINGLE_CROP = {
    'msff-segnext_mscan-t_1xb8-600it_wbc-fields-128x128.py': 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_wbc-128x128.py',
    'segnext_mscan-t_1xb8-600it_wbc-fields-128x128.py': 'configs/segnext/segnext_mscan-t_1xb8-600it_wbc-128x128.py',
    'unet-monai_ufl_1xb8-600it_wbc-fields-128x128.py': 'configs/unet_monai/unet-monai_ufl_1xb8-600it_wbc-128x128.py',
}


def test_every_field_config_has_its_single_crop_reference():
    assert sorted(osp.basename(c) for c in FIELD_CONFIGS) == sorted(SINGLE_CROP)


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    from hemaseg.data.synthetic import generate_synthetic_dataset
    root = tmp_path_factory.mktemp('fields_cfg') / 'data'
    generate_synthetic_dataset(str(root), num_images=10, size=200, seed=0, log=lambda _: None)
    return str(root)


@pytest.mark.parametrize('config', FIELD_CONFIGS, ids=osp.basename)
def test_field_config_trains_on_windows_and_tests_like_its_reference(config, synthetic):
    cfg = Config.fromfile(config)
    ref = Config.fromfile(osp.join(REPO_ROOT, SINGLE_CROP[osp.basename(config)]))
    model, ref_model = MODELS.build(cfg.model), MODELS.build(ref.model)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref_model.parameters())
    assert cfg.test_dataloader.dataset.pipeline == ref.test_dataloader.dataset.pipeline
    # the same pixel scale and crop sizes; the field configs add only the minimum component area
    assert {**cfg.get('inference'), 'min_area': 0} == {**ref.get('inference'), 'min_area': 0}
    assert cfg.inference.min_area == 100 and 'min_area' not in ref.inference
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandomFieldWindow' in types and 'Resize' not in types
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.update(data_root=synthetic, ann_file='splits/fold0_train.txt')
    dataset = DATASETS.build(dataset_cfg)
    np.random.seed(0)
    samples = [dataset[i % len(dataset)] for i in range(24)]
    shapes = {tuple(s['inputs'].shape[-2:]) for s in samples}
    assert shapes == {(128, 128)}
    labels = [s['data_samples'].gt_sem_seg.data.numpy() for s in samples]
    assert any(not (m == 1).any() for m in labels)        # windows without nucleus
    assert any((m == 255).any() for m in labels)          # the part beyond the image, ignored
    assert sum((m == 1).any() for m in labels) >= 8       # and most windows with one
