"""C-NMC 2019 converter on a small fixture in the distributed layout: training_data/fold_k/{all,hem}/UID_*.bmp,
validation_data/C-NMC_test_prelim_phase_data/<n>.bmp + C-NMC_test_prelim_phase_data_labels.csv."""
import csv
import importlib.util
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemaseg.data.c_nmc_2019 import convert_c_nmc_2019
from hemaseg.data.classification import read_classification_split, verify_classification_dataset
from hemaseg.data.io import DatasetError
from hemaseg.data.layout import load_meta
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
# official fold -> subjects (ALL subjects numeric, healthy donors H<n>) and cells per subject
FOLDS = {0: ['1', '2', 'H1', 'H2'], 1: ['3', '4', 'H3', 'H4'], 2: ['5', '6', 'H5', 'H6']}
CELLS = {'1': 3, '2': 1, '3': 2, '4': 2, '5': 1, '6': 3, 'H1': 2, 'H2': 2, 'H3': 1, 'H4': 3, 'H5': 2, 'H6': 1}
# prelim test rows (Patient_ID, new_names, label) of two new subjects
PRELIM = [('UID_7_1_1_all.bmp', '1.bmp', 1), ('UID_H7_2_1_hem.bmp', '2.bmp', 0), ('UID_7_1_2_all.bmp', '3.bmp', 1)]


def _cls(subject):
    return 'hem' if subject.startswith('H') else 'all'


def _name(subject, cell):
    return f'UID_{subject}_{cell % 2 + 1}_{cell + 1}_{_cls(subject)}.bmp'  # UID_<subject>_<image>_<cell>_<class>


def _make_src(root: Path):
    rng = np.random.default_rng(0)
    train = root / 'C-NMC_Leukemia/training_data'
    for k, subjects in FOLDS.items():
        for s in subjects:
            d = train / f'fold_{k}' / _cls(s)
            d.mkdir(parents=True, exist_ok=True)
            for c in range(CELLS[s]):
                cv2.imwrite(str(d / _name(s, c)), rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    val = root / 'C-NMC_Leukemia/validation_data'
    (val / 'C-NMC_test_prelim_phase_data').mkdir(parents=True)
    for _, new, _ in PRELIM:
        cv2.imwrite(str(val / 'C-NMC_test_prelim_phase_data' / new), rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    _write_csv(val / 'C-NMC_test_prelim_phase_data_labels.csv', PRELIM)
    (root / 'C-NMC_Leukemia/testing_data/C-NMC_test_final_phase_data').mkdir(parents=True)
    return root / 'C-NMC_Leukemia'


def _write_csv(path, rows):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['Patient_ID', 'new_names', 'labels'])
        w.writerows(rows)


def _expected_keys(fold):
    return sorted(f'{_cls(s)}/{_name(s, c)}' for s in FOLDS[fold] for c in range(CELLS[s]))


def _subject(key):
    return Path(key).name.split('_')[1]


def _split(out, k, name):
    return read_classification_split(out / f'splits/fold{k}_{name}.txt')


@pytest.fixture
def src(tmp_path):
    return _make_src(tmp_path / 'src')


def _quiet(_):
    pass


def test_grouped_split_keeps_subjects_together(src, tmp_path):
    out = tmp_path / 'g'
    logs = []
    meta = convert_c_nmc_2019(src.parent, out, seed=1, log=logs.append)  # the parent of C-NMC_Leukemia works too
    assert meta['classes'] == ['hem', 'all'] and meta['folds'] == 5
    assert meta['counts']['all'] == {'hem': 11, 'all': 12} and meta['subjects'] == {'hem': 6, 'all': 6}
    items = read_classification_split(out / 'splits/all.txt')
    assert sorted(k for k, _ in items) == sorted(_expected_keys(0) + _expected_keys(1) + _expected_keys(2))
    assert all(lab == ['hem', 'all'].index(k.split('/')[0]) for k, lab in items)
    for k in range(5):
        split_of = {}
        for name in ('train', 'val', 'test'):
            for key, _ in _split(out, k, name):
                assert split_of.setdefault(_subject(key), name) == name, (k, key)
        # stratified: every test chunk holds subjects of both classes
        assert {key.split('/')[0] for key, _ in _split(out, k, 'test')} == {'hem', 'all'}
    rows = list(csv.DictReader(open(out / 'sources.csv')))
    assert len(rows) == 23 and all(r['subject'] == _subject(r['key']) for r in rows)
    assert {r['official_fold'] for r in rows} == {'fold_0', 'fold_1', 'fold_2'}
    assert any('testing_data' in line and 'not converted' in line for line in logs)
    verify_classification_dataset(out)


def test_official_split_preserves_the_folds(src, tmp_path):
    out = tmp_path / 'o'
    meta = convert_c_nmc_2019(src, out, split_mode='official', log=_quiet)
    assert meta['folds'] == 3 and meta['split_mode'] == 'official'
    for k in range(3):
        assert sorted(key for key, _ in _split(out, k, 'test')) == _expected_keys(k)
        assert sorted(key for key, _ in _split(out, k, 'val')) == _expected_keys((k + 1) % 3)
        assert sorted(key for key, _ in _split(out, k, 'train')) == _expected_keys((k + 2) % 3)
    assert meta['official_folds']['fold_1'] == {'hem': 4, 'all': 4}
    verify_classification_dataset(out)


def test_prelim_test_set(src, tmp_path):
    out = tmp_path / 'p'
    meta = convert_c_nmc_2019(src, out, split_mode='official', include_prelim_test=True, log=_quiet)
    assert meta['folds'] == 4  # the prelim set is a fourth chunk
    prelim = sorted(f'{["hem", "all"][lab]}/{pid}' for pid, _, lab in PRELIM)
    assert sorted(key for key, _ in _split(out, 3, 'test')) == prelim
    assert sorted(key for key, _ in _split(out, 2, 'val')) == prelim
    assert sorted(key for key, _ in _split(out, 0, 'train')) == sorted(_expected_keys(2) + prelim)
    assert dict(_split(out, 3, 'test'))['hem/UID_H7_2_1_hem.bmp'] == 0
    src_file = src / 'validation_data/C-NMC_test_prelim_phase_data/3.bmp'
    assert (out / 'images/all/UID_7_1_2_all.bmp').read_bytes() == src_file.read_bytes()
    verify_classification_dataset(out)
    meta = convert_c_nmc_2019(src, tmp_path / 'g', include_prelim_test=True, log=_quiet)  # grouped: in the pool
    assert meta['counts']['all'] == {'hem': 12, 'all': 14} and meta['folds'] == 5
    verify_classification_dataset(tmp_path / 'g')


def test_official_split_refuses_a_subject_in_two_folds(src, tmp_path):
    moved = src / 'training_data/fold_1/all' / _name('1', 9)
    cv2.imwrite(str(moved), np.full((6, 6, 3), 7, np.uint8))  # subject 1 is in fold_0 too
    with pytest.raises(DatasetError, match=r"1 subject\(s\) appear in several official folds.*"
                                           r"1 \['fold_0', 'fold_1'\]"):
        convert_c_nmc_2019(src, tmp_path / 'o', split_mode='official', log=_quiet)
    meta = convert_c_nmc_2019(src, tmp_path / 'g', log=_quiet)  # grouped: subject 1 stays in one chunk
    for k in range(5):
        where = {name for name in ('train', 'val', 'test') for key, _ in _split(tmp_path / 'g', k, name)
                 if _subject(key) == '1'}
        assert len(where) == 1
    assert meta['num_images'] == 24


def test_errors_name_files(src, tmp_path):
    out = tmp_path / 'o'

    def fails(pattern, **kw):
        with pytest.raises(DatasetError, match=pattern):
            convert_c_nmc_2019(src, out, log=_quiet, **kw)
        assert not out.exists()  # the source is checked before the output is touched

    fails(r'rotates over the 3 official chunks .*1-3, got 4', split_mode='official', num_folds=4)
    fails('unknown split mode', split_mode='random')
    csv_path = src / 'validation_data/C-NMC_test_prelim_phase_data_labels.csv'
    _write_csv(csv_path, PRELIM + [('UID_8_1_1_all.bmp', '9.bmp', 1), ('UID_H8_1_1_hem.bmp', '2.bmp', 1),
                                   ('cell.bmp', '1.bmp', 0)])
    fails(r'(?s)3 problem\(s\).*line 5: .*C-NMC_test_prelim_phase_data/9\.bmp does not exist'
          r'.*line 6: label 1 \(all\) contradicts Patient_ID UID_H8_1_1_hem\.bmp'
          r'.*line 7: Patient_ID .cell\.bmp. is not',
          include_prelim_test=True)
    csv_path.unlink()
    fails(r'no C-NMC_test_prelim_phase_data_labels\.csv in .*validation_data', include_prelim_test=True)
    bad = src / 'training_data/fold_0/all/cell7.bmp'
    cv2.imwrite(str(bad), np.zeros((6, 6, 3), np.uint8))
    fails(r"1 file name\(s\) do not match UID_.*fold_0/all/cell7\.bmp")
    bad.unlink()
    wrong = src / 'training_data/fold_0/all/UID_H9_1_1_hem.bmp'
    cv2.imwrite(str(wrong), np.zeros((6, 6, 3), np.uint8))
    fails(r'1 file\(s\) lie in the other class folder .*fold_0/all/UID_H9_1_1_hem\.bmp')
    wrong.unlink()
    (src / 'training_data/fold_1/blast').mkdir()
    fails(r'unknown label folder .*fold_1/blast')
    (src / 'training_data/fold_1/blast').rmdir()
    for p in (src / 'training_data/fold_2/hem').iterdir():
        p.unlink()
    fails(r'label folder .*fold_2/hem holds no images')
    (src / 'training_data/fold_2/hem').rmdir()
    fails(r'fold_2 has no hem folder')
    (src / 'training_data/extra').mkdir()
    fails(r'unknown folder .*training_data/extra')
    with pytest.raises(DatasetError, match='no training folder'):
        convert_c_nmc_2019(tmp_path, out, log=_quiet)


def _cli():
    spec = importlib.util.spec_from_file_location('cli_c_nmc', ROOT / 'tools/dataset_converters/c_nmc_2019.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(src, tmp_path, capsys):
    cli = _cli()
    assert cli.parse_args(['s']).folds == 5 and cli.parse_args(['s']).split_mode == 'grouped'
    assert cli.parse_args(['s', '--split-mode', 'official']).folds is None  # every official chunk
    cli.main([str(src), '--out', str(tmp_path / 'o'), '--split-mode', 'official', '--folds', '2'])
    assert 'splits verified' in capsys.readouterr().out
    assert load_meta(tmp_path / 'o')['folds'] == 2
    assert Counter(k.split('/')[0] for k, _ in _split(tmp_path / 'o', 1, 'test')) == {'hem': 4, 'all': 4}
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, [str(tmp_path / 'nowhere'), '--out', str(tmp_path / 'x')])
    assert e.value.code == 2 and 'does not exist' in capsys.readouterr().err
