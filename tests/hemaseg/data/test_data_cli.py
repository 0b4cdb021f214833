"""The converter CLIs: argument wiring, defaults, verification, exit status 2 on DatasetError."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)


def _cli(name):
    spec = importlib.util.spec_from_file_location(f'cli_{name}', ROOT / 'tools/dataset_converters' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_synthetic_cli(tmp_path, capsys):
    _cli('make_synthetic').main(['--out', str(tmp_path / 's'), '--num-images', '6', '--size', '48',
                                 '--classes', '3class', '--seed', '2'])
    assert 'splits verified' in capsys.readouterr().out
    meta = json.loads((tmp_path / 's/meta.json').read_text())
    assert meta['options'] == {'num_images': 6, 'size': 48, 'seed': 2, 'classes': '3class'}


def test_default_out_is_relative_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cli('make_synthetic').main(['--num-images', '5', '--size', '32'])
    assert (tmp_path / 'data/synthetic_nucleus/splits/fold4_test.txt').is_file()  # default: 5 folds


@pytest.mark.parametrize('name', ['make_synthetic', 'wbc_zheng2018', 'sn_am', 'coco_instances', 'all_idb1',
                                  'c_nmc_2019', 'all_idb2', 'class_folders'])
def test_every_converter_cli_has_a_folds_option(name):
    args = {'make_synthetic': [], 'wbc_zheng2018': ['src'], 'sn_am': ['imgs'], 'coco_instances': ['wbc', 'src'],
            'all_idb1': ['src'], 'c_nmc_2019': ['src'], 'all_idb2': ['src'], 'class_folders': ['src', '--out', 'o']}[name]
    parse = _cli(name).parse_args
    assert parse(args).folds == 5
    assert parse([*args, '--folds', '3']).folds == 3
    with pytest.raises(SystemExit):
        parse([*args, '--folds', '6'])  # only 5 chunks


def test_make_synthetic_cli_three_folds(tmp_path, capsys):
    _cli('make_synthetic').main(['--out', str(tmp_path / 's'), '--num-images', '10', '--size', '32', '--folds', '3'])
    assert 'splits verified' in capsys.readouterr().out
    assert json.loads((tmp_path / 's/meta.json').read_text())['folds'] == 3
    assert sorted(p.name for p in (tmp_path / 's/splits').glob('fold*_test.txt')) == [
        'fold0_test.txt', 'fold1_test.txt', 'fold2_test.txt']


def test_sn_am_cli_error_exits_2(tmp_path, capsys):
    import cv2
    (tmp_path / 'imgs').mkdir()
    cv2.imwrite(str(tmp_path / 'imgs/x.png'), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / 'imgs/x.json').write_text('{not json')
    module = _cli('sn_am')
    with pytest.raises(SystemExit) as e:
        module.run_cli(module.main, [str(tmp_path / 'imgs'), '--out', str(tmp_path / 'o')])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('error: annotation ') and 'x.json is not readable JSON' in err
