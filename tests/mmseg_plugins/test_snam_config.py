"""The design's entry point ``python tools/train.py configs/msff_segnext/msff-segnext_mscan-t_1xb2-100e_sn-am-512x512.py``: the config
(MSFF-SegNeXt, SN-AM converter layout, the paper's schedule), the clear stop when data/sn_am is
missing (mmengine_plugins.data_check), and two training iterations on a tiny SN-AM set made by the
converter itself."""
import ast
import json
import os.path as osp

import cv2
import numpy as np
import pytest

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmseg_plugins  # noqa: E402,F401  (registers MSFFHead, BloodCellDataset, ...)
from conftest import REPO_ROOT, run_tool  # noqa: E402
from hemaseg.data.sn_am import convert_sn_am  # noqa: E402
from mmengine_plugins.data_check import check_data_prepared, missing_data_message  # noqa: E402

CONFIG = osp.join(REPO_ROOT, 'configs', 'msff_segnext/msff-segnext_mscan-t_1xb2-100e_sn-am-512x512.py')
SCHEDULE = osp.join(REPO_ROOT, 'configs', '_base_', 'schedules', 'paper_adamw_100e.py')
CONVERTER = 'python tools/dataset_converters/sn_am.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
SCHEDULE_KEYS = {'optim_wrapper', 'param_scheduler', 'train_cfg', 'val_cfg', 'test_cfg'}


def assigned(path) -> dict:
    """The top-level names a config file assigns itself (not its bases'), each with its value's AST node."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    return {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def run_train(args, cwd, check=True):
    return run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG, *args], cwd=cwd, check=check)


def test_config_is_msff_segnext_on_sn_am_with_the_paper_schedule():
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.type == 'EdgeGuidedEncoderDecoder' and cfg.model.decode_head.type == 'MSFFHead'
    assert cfg.model.decode_head.edge_operator == 'sobel' and cfg.model.decode_head.share_hamburger
    assert cfg.data_preparation.startswith(CONVERTER) and cfg.data_preparation.endswith('--out data/sn_am')
    for loader in LOADERS:
        ds = cfg[loader].dataset
        assert ds.type == 'BloodCellDataset' and ds.data_root == 'data/sn_am'
        # the dataset base's fold template, filled in by mmengine_plugins.config.resolve_fold
        assert ds.ann_file == f'splits/fold{{fold}}_{loader.split("_")[0]}.txt'
        resize = next(t for t in ds.pipeline if t.type == 'Resize')
        assert resize.scale == (512, 512) and not resize.keep_ratio  # spec 000 §4: 350x350 crops -> 512
    assert cfg.inference.source_crop_size == (350, 350)
    # The paper's schedule is inherited, not copied: the schedule file is a base of the config and
    # holds only schedule keys (a dataset or runtime key there would collide with those bases),
    # the config assigns none of them itself, and so ends up with exactly the file's values.
    schedule = Config.fromfile(SCHEDULE).to_dict()
    assert set(schedule) == SCHEDULE_KEYS
    assert osp.relpath(SCHEDULE, osp.dirname(CONFIG)) in [osp.normpath(b) for b in ast.literal_eval(assigned(CONFIG)['_base_'])]
    assert not SCHEDULE_KEYS & set(assigned(CONFIG))
    config = cfg.to_dict()
    for key, value in schedule.items():
        assert config[key] == value, key
    assert cfg.optim_wrapper.optimizer.lr == 6e-5 and cfg.train_cfg.max_epochs == 100
    # The rest of Table 2, set by the config on keys of its dataset and runtime bases: batch 2, an
    # epoch sampler, and checkpoints and logs by epoch (the schedule's loop is epoch-based).
    assert cfg.train_dataloader.batch_size == 2 and cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.default_hooks.checkpoint.by_epoch and cfg.default_hooks.logger.log_metric_by_epoch
    assert cfg.log_processor.by_epoch

def test_config_builds_the_model():
    from mmseg.registry import MODELS
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    # spec 000 §2.1: the released MSFF-SegNeXt (Table 6 last row), 2 classes
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 6_138_072
    assert cfg.model.backbone.get('init_cfg') is None  # nothing is downloaded


def test_check_names_missing_and_unfinished_folders(tmp_path):
    cfg = Config.fromfile(CONFIG)
    for loader in LOADERS:
        cfg[loader].dataset.data_root = str(tmp_path / 'sn_am')
    message = missing_data_message(cfg, 'x.py')
    assert message.startswith('error: x.py: the data folder ') and str(tmp_path / 'sn_am') in message
    assert cfg.data_preparation in message
    assert all(f'{loader}.dataset.data_root' in message for loader in LOADERS)
    (tmp_path / 'sn_am').mkdir()
    (tmp_path / 'sn_am' / '.incomplete').write_text('')
    with pytest.raises(SystemExit, match='unfinished conversion'):
        check_data_prepared(cfg)
    (tmp_path / 'sn_am' / '.incomplete').unlink()
    check_data_prepared(cfg)  # present: no error
    plain = cfg.to_dict()  # plain dicts work too; a config without the key gets the generic hint
    del plain['data_preparation']
    plain['train_dataloader']['dataset']['data_root'] = str(tmp_path / 'other')
    message = missing_data_message(plain)
    assert str(tmp_path / 'other') in message and 'tools/dataset_converters/' in message


def test_train_stops_naming_the_folder_and_the_converter(tmp_path):
    # Run from an empty folder: the config's relative data/sn_am is not there.
    proc = run_train(['--work-dir', str(tmp_path / 'work')], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert 'data/sn_am' in proc.stderr and str(tmp_path / 'data' / 'sn_am') in proc.stderr
    assert (f'{CONVERTER} /path/to/images --annotations /path/to/annotations --out data/sn_am'
            in proc.stderr), proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr  # a message, not a crash
    assert not (tmp_path / 'work').exists()  # stopped before the Runner started


def _make_sn_am_source(root, n_images=5, size=200):
    """``n_images`` full images with one LabelMe nucleus (and its cell) each, as SN-AM ships them."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n_images):
        img = np.full((size, size, 3), (215, 200, 230), np.uint8)
        cx, cy = (int(v) for v in rng.integers(60, size - 60, 2))
        cv2.circle(img, (cx, cy), 40, (160, 90, 170), -1)  # cytoplasm (BGR)
        cv2.circle(img, (cx, cy), 22, (120, 40, 90), -1)  # nucleus
        cv2.imwrite(str(root / f'img{i}.bmp'), img)
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        shapes = [{'label': label, 'shape_type': 'polygon',
                   'points': np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).round(2).tolist()}
                  for label, r in (('cell', 40), ('nucleus', 22))]
        (root / f'img{i}.json').write_text(json.dumps({'shapes': shapes, 'imageHeight': size,
                                                       'imageWidth': size}))


def test_trains_two_iterations_on_the_converter_output(tmp_path):
    _make_sn_am_source(tmp_path / 'raw')
    # What the README's command writes (crops smaller than 350 px: CPU time), at the config's path.
    convert_sn_am(tmp_path / 'raw', tmp_path / 'data' / 'sn_am', crop_size=96, near_dup_distance=None,
                  log=lambda _: None)  # its 5 drawn crops look alike (dHash): grouped, no split could be made
    train = (tmp_path / 'data/sn_am/splits/fold0_train.txt').read_text().split()
    assert len(train) == 3  # 5 crops in 5 chunks: 3 train, 1 val, 1 test -> 2 iterations of batch 2
    work = tmp_path / 'work'
    loaders = [f'{d}.{k}' for d in ('train_dataloader', 'val_dataloader')
               for k in ('num_workers=0', 'persistent_workers=False')]
    proc = run_train(['--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1', *loaders], cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log  # two iterations of the paper's schedule
    assert 'nucleus/mDice' in log  # validation after the epoch (val_interval=1)
    assert (work / 'epoch_1.pth').is_file()
