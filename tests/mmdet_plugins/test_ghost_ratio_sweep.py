"""The Ghost ratio sweep of spec 001 Table 2 as configs (configs/yolact_cis/yolact_ghost-r50-s*_fpn_*):
each config builds YOLACT with the Ghost-ResNet-50 of its ratio S, and the backbone's parameters are
the paper's Table 2 column (backbone only, docs/papers/001_dsff_ddam_yolact.md §2.1).

The printed last row says S = 8 with 6.44 M; the repository reads it as S = 6 (the text says
"S = 2, 4 and 6"), and the test pins why: S = 6 lands within 1 % of 6.44 M, S = 8 is 13 % below."""
import os.path as osp

import pytest

from conftest import REPO_ROOT

SWEEP = {2: 'yolact_ghost-r50-s2_fpn_1xb16-12k_wbc-550x550.py',
         4: 'yolact_ghost-r50-s4_fpn_1xb16-12k_wbc-550x550.py',
         6: 'yolact_ghost-r50-s6_fpn_1xb16-12k_wbc-550x550.py',
         8: 'yolact_ghost-r50-s8_fpn_1xb16-12k_wbc-550x550.py'}
TABLE_2_PARAMS = {2: 13.28e6, 4: 8.16e6, 'last row': 6.44e6}


@pytest.fixture(scope='module')
def backbone_params():
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmdet_plugins  # noqa: F401  (registers GhostResNet, DFFN, YOLACTCIS)
    from mmdet.registry import MODELS
    counts = {}
    for ratio, name in SWEEP.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'yolact_cis', name))
        assert cfg.model.backbone.ghost_ratio == ratio, name
        assert cfg.model.neck.bottom_up is False and cfg.model.neck.attention is False, f'{name}: not the FPN neck'
        with DefaultScope.overwrite_default_scope('mmdet'):  # not left behind for later tests
            counts[ratio] = sum(p.numel() for p in MODELS.build(cfg.model).backbone.parameters())
    return counts


def test_sweep_matches_table_2(backbone_params):
    for ratio in (2, 4):
        rel = abs(backbone_params[ratio] - TABLE_2_PARAMS[ratio]) / TABLE_2_PARAMS[ratio]
        assert rel < 0.002, f'S = {ratio}: {backbone_params[ratio]:,} vs Table 2 {TABLE_2_PARAMS[ratio]:,.0f}'
    assert backbone_params[2] > backbone_params[4] > backbone_params[6] > backbone_params[8]


def test_last_row_reads_as_s6(backbone_params):
    last = TABLE_2_PARAMS['last row']
    assert abs(backbone_params[6] - last) / last < 0.01
    assert abs(backbone_params[8] - last) / last > 0.10
