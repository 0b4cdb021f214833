"""tools/explain.py, tools/cam_energy.py and tools/cluster_analysis.py (their runs: mmpretrain_plugins.apis)
on a random-weight tiny MMPretrain classifier (tests/configs/cls_tiny.py) and a synthetic dataset
(tests/cls_fixtures.py).

What the network saw and which mask pixels were compared are checked against an independent
re-implementation of the tiny config's test pipeline (cv2 resize of the short edge to 56,
centre crop 48); probabilities against MMPretrain's own inferencer.
"""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO_ROOT

from cls_fixtures import data_root_options, make_cls_dataset, save_random_checkpoint
from mmengine_plugins.config import parse_cfg_options

CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'cls_tiny.py')
TOOLS = osp.join(REPO_ROOT, 'tools')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cls_tiny'))
    info = make_cls_dataset(osp.join(root, 'data'), counts={'train': 1, 'val': 1, 'test': 2})
    images = [cv2.imread(osp.join(info['root'], 'images', rel))[:, :, ::-1] for rel, _ in info['splits']['test']]
    ckpt = osp.join(root, 'random.pth')
    save_random_checkpoint(CONFIG, ckpt, calibrate_images=images)
    return {'root': root, 'data': info['root'], 'ckpt': ckpt, 'info': info}


def network_view(path_or_array, interpolation=cv2.INTER_LINEAR):
    """The tiny config's test geometry done by hand: short edge -> 56 (bilinear), centre crop 48."""
    a = cv2.imread(path_or_array) if isinstance(path_or_array, str) else path_or_array
    h, w = a.shape[:2]
    nh, nw = (56, int(56 * w / h)) if h <= w else (int(56 * h / w), 56)
    a = cv2.resize(a, (nw, nh), interpolation=interpolation)
    y, x = int(round((nh - 48) / 2)), int(round((nw - 48) / 2))
    return a[y:y + 48, x:x + 48]


def mmpretrain_scores(setup, paths):
    """Softmax scores from MMPretrain's inferencer (its own pipeline + predict path)."""
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer, init_model

    import mmengine_plugins  # noqa: F401
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': setup['data']})
    inferencer = ImageClassificationInferencer(init_model(cfg, setup['ckpt'], device='cpu'))
    return [np.asarray(r['pred_scores']) for r in inferencer(list(paths))]


def test_explain_grids_probabilities_and_failures(setup, run_env):
    from hemaseg.cam import GAP, LINE_H, panel_scale
    paths = [osp.join(setup['data'], 'images', rel) for rel, _ in setup['info']['splits']['test'][:2]]
    bad = osp.join(setup['root'], 'corrupt.png')
    with open(bad, 'wb') as f:
        f.write(b'not an image')
    out = osp.join(setup['root'], 'explain')
    r = subprocess.run([sys.executable, osp.join(TOOLS, 'explain.py'), CONFIG, setup['ckpt'], *paths, bad,
                        '--out', out], env=run_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr  # the corrupt file fails, the others are written
    assert 'corrupt.png' in r.stderr and '1 input(s) failed' in r.stderr
    assert 'target layer: backbone.layer4.1 (default)' in r.stdout
    meta = json.load(open(osp.join(out, 'explain.json')))
    assert meta['methods'] == ['gradcam', 'gradcam++', 'hirescam', 'xgradcam']
    assert len(meta['images']) == 2
    s = panel_scale(48, 48)
    strip = 2 * LINE_H + 4
    for path, rec, ref in zip(paths, meta['images'], mmpretrain_scores(setup, paths)):
        grid = cv2.imread(rec['output'])
        assert rec['output'] == osp.join(out, osp.splitext(osp.basename(path))[0] + '.png')
        assert grid.shape == (strip + 48 * s, 5 * 48 * s + 4 * GAP, 3)
        # first panel: the network input, un-normalised, = the hand-made test geometry
        panel = grid[strip:, :48 * s]
        expected = cv2.resize(network_view(path), (48 * s, 48 * s), interpolation=cv2.INTER_NEAREST)
        assert np.abs(panel.astype(int) - expected).max() <= 1
        # overlays differ from the input (a heat map is blended in)
        for k in range(1, 5):
            x0 = k * (48 * s + GAP)
            assert np.abs(grid[strip:, x0:x0 + 48 * s].astype(int) - expected).mean() > 10
        probs = np.array(list(rec['probabilities'].values()))
        assert probs == pytest.approx(ref, abs=1e-5)
        assert rec['target_index'] == int(ref.argmax())


def test_target_layer_override_and_wrong_name(setup, capsys):
    from mmpretrain_plugins.apis import explain_images
    paths = [osp.join(setup['data'], 'images', setup['info']['splits']['test'][0][0])]
    out = osp.join(setup['root'], 'explain_l3')
    explain_images(CONFIG, setup['ckpt'], paths, out=out, methods=['gradcam', 'hirescam'],
                   target_layer_name='backbone.layer3[-1]', target_class=2)
    meta = json.load(open(osp.join(out, 'explain.json')))
    assert meta['target_layer'] == 'backbone.layer3.1'
    assert meta['images'][0]['target_index'] == 2
    assert cv2.imread(meta['images'][0]['output']).shape[1] > 2 * 48  # 3 panels
    with pytest.raises(SystemExit) as e:
        explain_images(CONFIG, setup['ckpt'], paths, out=out, target_layer_name='backbone.layer9')
    msg = str(e.value)
    assert "no submodule 'layer9'" in msg and 'candidates' in msg and 'backbone.layer4.1' in msg


def test_default_target_layer_of_densenet_and_resnet():
    import torch
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    from hemaseg.cam import LogitsModel, default_target_layer, resolve_target_layer

    def clf(backbone, channels):
        return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
                                 head=dict(type='LinearClsHead', num_classes=3, in_channels=channels))).eval()
    x = torch.randn(1, 3, 64, 64)
    dense = clf(dict(type='DenseNet', arch=dict(growth_rate=4, depths=[1, 2], init_channels=8)), 14)
    assert default_target_layer(dense, x, LogitsModel(dense, mode='tensor')) == 'backbone.transitions.1'
    # the shared activation module runs twice per pass: refused with a reason
    with pytest.raises(ValueError, match='runs 2 times'):
        resolve_target_layer(dense, 'backbone.act', x, LogitsModel(dense, mode='tensor'))
    res = clf(dict(type='ResNet', depth=18, base_channels=8, stem_channels=8), 64)
    assert default_target_layer(res, x, LogitsModel(res, mode='tensor')) == 'backbone.layer4.1'
    assert resolve_target_layer(res, 'backbone.layer4.-1', x, LogitsModel(res, mode='tensor'))[0] == \
        'backbone.layer4.1'
    with pytest.raises(TypeError, match='N x num_classes'):
        LogitsModel(res, mode='predict')(x)


def test_cam_energy_over_the_split(setup, capsys):
    from mmpretrain_plugins.apis import cam_energy_split  # in-process: the CLI start-up is tested by explain.py's run
    out = osp.join(setup['root'], 'energy')
    cam_energy_split(CONFIG, setup['ckpt'], split='test', out=out,
                     cfg_options=parse_cfg_options(data_root_options(setup['data'])))
    assert 'through ResizeEdge -> CenterCrop' in capsys.readouterr().out
    rows = list(csv.DictReader(open(osp.join(out, 'per_image.csv'))))
    assert len(rows) == len(setup['info']['splits']['test'])
    for row in rows:
        # the mask pixels compared are the mask taken through the test geometry by hand
        mask = cv2.imread(row['mask'], cv2.IMREAD_GRAYSCALE)
        area = (network_view(mask) >= 128).mean()
        assert float(row['area_share']) == pytest.approx(area, abs=1e-9)
        assert 0 < area < 1
        for m in ('gradcam', 'gradcam++', 'hirescam', 'xgradcam'):
            assert 0.0 <= float(row[f'energy_{m}']) <= 1.0
    summary = json.load(open(osp.join(out, 'summary.json')))
    assert summary['num_images'] == len(rows)
    mean = np.mean([float(row['energy_gradcam']) for row in rows])
    assert summary['methods']['gradcam']['mean_energy_inside'] == pytest.approx(mean)


def test_cam_energy_missing_mask_is_named(setup, tmp_path):
    from mmpretrain_plugins.apis import cam_energy_split
    with pytest.raises(SystemExit) as e:
        cam_energy_split(CONFIG, setup['ckpt'], masks_root=str(tmp_path), out=str(tmp_path / 'o'),
                         cfg_options=parse_cfg_options(data_root_options(setup['data'])))
    first = setup['info']['splits']['test'][0][0]
    assert osp.join(str(tmp_path), osp.splitext(first)[0] + '.png') in str(e.value)
    assert '6 of 6 nucleus masks missing' in str(e.value)


def test_cluster_analysis_tool(setup):
    from mmpretrain_plugins.apis import cluster_analysis_split
    out = osp.join(setup['root'], 'cluster')
    cluster_analysis_split(CONFIG, setup['ckpt'], out=out, name='tiny', batch_size=4,
                           cfg_options=parse_cfg_options(data_root_options(setup['data'])))
    rows = list(csv.DictReader(open(osp.join(out, 'logits.csv'))))
    assert len(rows) == 6
    classes = setup['info']['classes']
    logits = np.array([[float(r[f'logit_{c}']) for c in classes] for r in rows])
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    ref = mmpretrain_scores(setup, [r['image'] for r in rows])
    assert softmax == pytest.approx(np.array(ref), abs=1e-5)  # raw logits, pre-softmax
    assert [r['true'] for r in rows] == [classes[label] for _, label in setup['info']['splits']['test']]
    report = json.load(open(osp.join(out, 'cluster_report.json')))
    assert report['dist_total'] == pytest.approx(sum(report['distances'].values()))
    table = open(osp.join(out, 'cluster_table.md')).read()
    assert '| tiny |' in table and f'{report["ratio"]:.2f} |' in table
    plot = cv2.imread(osp.join(out, 'cluster_scatter.png'))
    assert plot is not None and plot.shape[:2] == (600, 720)
    # spread of the PC coordinates matches the reported per-class SDs
    pcs = np.array([[float(r['pc1']), float(r['pc2'])] for r in rows])
    for c in classes:
        pts = pcs[[r['true'] == c for r in rows]]
        assert report['sd'][c] == pytest.approx(np.sqrt(((pts - pts.mean(0)) ** 2).sum(1).mean()))
    os.remove(osp.join(out, 'cluster_scatter.png'))
