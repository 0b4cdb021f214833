"""Class-per-folder converter into MMPretrain's CustomDataset layout: stratified, grouped splits and clear errors."""
import importlib.util
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemaseg.data.classification import (convert_class_folders, read_classification_split,
                                         verify_classification_dataset)
from hemaseg.data.io import DatasetError
from hemaseg.data.layout import load_meta
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
REAL = ROOT.parent / 'shared' / 'data' / 'b_all_aria2021'
COUNTS = {'alpha': 5, 'beta': 10, 'gamma': 15}  # 5 test chunks: 1 / 2 / 3 per chunk


def _make_src(root: Path, counts=COUNTS):
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            ext = ('.png', '.jpg', '.bmp')[i % 3]
            cv2.imwrite(str(root / cls / f'{cls}_{i:02d}{ext}'), rng.integers(0, 256, (8, 9, 3), dtype=np.uint8))
    (root / cls / 'notes.txt').write_text('not an image')  # in the last class folder
    return root


def _quiet(_):
    pass


def test_layout_labels_and_stratification(tmp_path):
    src = _make_src(tmp_path / 'src')
    out = tmp_path / 'out'
    logs = []
    meta = convert_class_folders(src, out, seed=1, log=logs.append)
    assert meta['classes'] == ['alpha', 'beta', 'gamma'] and meta['num_images'] == 30
    assert meta['counts']['all'] == COUNTS and meta['ignored_files'] == 1
    assert (out / 'images/beta/beta_05.bmp').read_bytes() == (src / 'beta/beta_05.bmp').read_bytes()
    items = read_classification_split(out / 'splits/all.txt')
    assert len(items) == 30
    assert all(lab == ['alpha', 'beta', 'gamma'].index(key.split('/')[0]) for key, lab in items)
    for k in range(5):
        test = read_classification_split(out / f'splits/fold{k}_test.txt')
        assert Counter(key.split('/')[0] for key, _ in test) == {'alpha': 1, 'beta': 2, 'gamma': 3}
        assert meta['counts']['folds'][k]['test'] == {'alpha': 1, 'beta': 2, 'gamma': 3}
    assert 'leakage_warning' in meta and any(line.startswith('warning: no patient grouping') for line in logs)
    assert verify_classification_dataset(out)['folds'] == [{'train': 18, 'val': 6, 'test': 6}] * 5


def test_class_selection_order_and_exclusion(tmp_path):
    src = _make_src(tmp_path / 'src')
    meta = convert_class_folders(src, tmp_path / 'o1', classes=['gamma', 'alpha'], log=_quiet)
    assert meta['classes'] == ['gamma', 'alpha']
    assert ('gamma/gamma_00.png', 0) in read_classification_split(tmp_path / 'o1/splits/all.txt')
    assert not (tmp_path / 'o1/images/beta').exists()
    meta = convert_class_folders(src, tmp_path / 'o2', exclude_classes=['beta'], log=_quiet)
    assert meta['classes'] == ['alpha', 'gamma']
    with pytest.raises(DatasetError, match=r"--classes: no class folder \['delta'\].*available: \['alpha', 'beta'"):
        convert_class_folders(src, tmp_path / 'o3', classes=['alpha', 'delta'], log=_quiet)
    with pytest.raises(DatasetError, match='at least 2 classes'):
        convert_class_folders(src, tmp_path / 'o3', classes=['alpha'], log=_quiet)


def _make_patient_src(root: Path):
    """<class>/P<patient>_<j>.png: alpha 5 patients, beta 5, gamma 10, two images each; plus
    gamma/P19_9.png, a copy of gamma/P13_0.png (so patients 13 and 19 must share a chunk)."""
    rng = np.random.default_rng(2)
    for cls, patients in (('alpha', range(0, 5)), ('beta', range(5, 10)), ('gamma', range(10, 20))):
        (root / cls).mkdir(parents=True)
        for p in patients:
            for j in range(2):
                cv2.imwrite(str(root / cls / f'P{p}_{j}.png'), rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    (root / 'gamma' / 'P19_9.png').write_bytes((root / 'gamma' / 'P13_0.png').read_bytes())
    return root


def test_groups_from_regex_merged_with_identical_images(tmp_path):
    src = _make_patient_src(tmp_path / 'src')
    meta = convert_class_folders(src, tmp_path / 'o', group_regex=r'/(P\d+)_', seed=5, log=_quiet)
    assert meta['identical_images'] == [['gamma/P13_0.png', 'gamma/P19_9.png']]
    groups = meta['groups']
    assert groups['beta/P7_0.png'] == groups['beta/P7_1.png'] != groups['beta/P8_0.png']
    merged = {k for k, g in groups.items() if g == groups['gamma/P13_0.png']}
    assert merged == {'gamma/P13_0.png', 'gamma/P13_1.png', 'gamma/P19_0.png', 'gamma/P19_1.png', 'gamma/P19_9.png'}
    for k in range(5):
        split_of = {key: name for name in ('train', 'val', 'test')
                    for key, _ in read_classification_split(tmp_path / f'o/splits/fold{k}_{name}.txt')}
        for p in range(20):
            members = [key for key in split_of if key.split('/')[1].startswith(f'P{p}_')]
            assert len({split_of[key] for key in members}) == 1, (k, p)
        assert len({split_of[key] for key in merged}) == 1
    verify_classification_dataset(tmp_path / 'o')


def test_group_regex_errors(tmp_path):
    src = _make_patient_src(tmp_path / 'src')
    with pytest.raises(DatasetError, match=r"group 'P1' spans classes \['alpha', 'gamma'\]"):
        convert_class_folders(src, tmp_path / 'o', group_regex=r'/(P\d)', log=_quiet)  # P1, P10 .. P19 -> 'P1'
    with pytest.raises(DatasetError, match='not a valid regular expression'):
        convert_class_folders(src, tmp_path / 'o', group_regex='(P', log=_quiet)
    cv2.imwrite(str(src / 'beta' / 'scan.png'), np.zeros((6, 6, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"gives no group id for 1 file.*'beta/scan\.png'"):
        convert_class_folders(src, tmp_path / 'o', group_regex=r'/(P\d+)_', log=_quiet)


def test_identical_images_in_two_classes_is_an_error(tmp_path):
    src = _make_src(tmp_path / 'src')
    (src / 'alpha' / 'dup.png').write_bytes((src / 'beta' / 'beta_00.png').read_bytes())
    with pytest.raises(DatasetError, match=r'identical images in different classes: .*alpha/dup\.png \(alpha\)'):
        convert_class_folders(src, tmp_path / 'o', log=_quiet)


def test_errors_name_the_file_or_folder(tmp_path):
    src = _make_src(tmp_path / 'src')
    (src / 'delta').mkdir()
    (src / 'delta' / 'readme.txt').write_text('x')
    with pytest.raises(DatasetError, match=r'class folder .*/delta holds no image files'):
        convert_class_folders(src, tmp_path / 'o1', log=_quiet)
    convert_class_folders(src, tmp_path / 'o1', exclude_classes=['delta'], log=_quiet)

    (src / 'beta' / 'beta_03.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(DatasetError, match=r'image .*beta/beta_03\.png cannot be decoded'):
        convert_class_folders(src, tmp_path / 'o2', exclude_classes=['delta'], log=_quiet)
    assert (tmp_path / 'o2/.incomplete').is_file()  # marked unfinished, and refused by the loaders
    with pytest.raises(DatasetError, match='unfinished conversion'):
        verify_classification_dataset(tmp_path / 'o2')

    with pytest.raises(DatasetError, match='no class folders in'):
        convert_class_folders(src / 'alpha', tmp_path / 'o3', log=_quiet)
    with pytest.raises(DatasetError, match='does not exist'):
        convert_class_folders(tmp_path / 'nowhere', tmp_path / 'o3', log=_quiet)


def test_duplicate_names_ignoring_case(tmp_path):
    src = _make_src(tmp_path / 'src', counts={'a': 5, 'b': 5})
    (src / 'a' / 'A_00.PNG').write_bytes(cv2.imencode('.png', np.ones((4, 4, 3), np.uint8))[1].tobytes())
    with pytest.raises(DatasetError, match=r'duplicate name: .*a/a_00\.png and .*a/A_00\.PNG .*equal ignoring case'):
        convert_class_folders(src, tmp_path / 'o', log=_quiet)


def test_recursive_sub_folders_keep_their_path(tmp_path):
    src = tmp_path / 'src'
    rng = np.random.default_rng(1)
    for cls in ('x', 'y'):
        for patient in ('p1', 'p2', 'p3', 'p4', 'p5'):
            (src / cls / patient).mkdir(parents=True)
            for i in range(2):
                cv2.imwrite(str(src / cls / patient / f'{i}.png'), rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    meta = convert_class_folders(src, tmp_path / 'o', group_regex=r'^([^/]+/[^/]+)/', log=_quiet)
    assert (tmp_path / 'o/images/x/p3/1.png').is_file() and meta['num_images'] == 20
    assert meta['groups']['y/p2/1.png'] == meta['groups']['y/p2/0.png'] != meta['groups']['y/p3/0.png']
    verify_classification_dataset(tmp_path / 'o')


def test_verify_detects_tampering(tmp_path):
    out = tmp_path / 'o'
    convert_class_folders(_make_src(tmp_path / 'src'), out, log=_quiet)
    (out / 'images/alpha/alpha_01.jpg').unlink()
    lines = (out / 'splits/fold0_test.txt').read_text().splitlines()
    key, lab = lines[0].rsplit(' ', 1)
    lines[0] = f'{key} {int(lab) + 1}'
    (out / 'splits/fold0_test.txt').write_text('\n'.join(lines) + '\n')
    with pytest.raises(DatasetError) as e:
        verify_classification_dataset(out)
    assert 'missing from images/: alpha/alpha_01.jpg' in str(e.value)
    assert f'{key} has label {int(lab) + 1}' in str(e.value)


def test_split_files_load_with_mmpretrain_custom_dataset(tmp_path):
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets import CustomDataset
    out = tmp_path / 'o'
    meta = convert_class_folders(_make_src(tmp_path / 'src'), out, log=_quiet)
    ds = CustomDataset(data_root=str(out), data_prefix='images', ann_file='splits/fold2_val.txt',
                       metainfo={'classes': meta['classes']}, pipeline=[])
    expected = read_classification_split(out / 'splits/fold2_val.txt')
    assert len(ds) == len(expected) == 6
    for i, (key, lab) in enumerate(expected):
        info = ds.get_data_info(i)
        assert Path(info['img_path']) == out / 'images' / key and Path(info['img_path']).is_file()
        assert info['gt_label'] == lab
    assert list(ds.CLASSES) == ['alpha', 'beta', 'gamma']


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('cli_cf', ROOT / 'tools/dataset_converters/class_folders.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    src = _make_src(tmp_path / 'src')
    cli.main([str(src), '--out', str(tmp_path / 'o'), '--folds', '3', '--exclude-classes', 'alpha', '--seed', '4'])
    assert 'splits verified' in capsys.readouterr().out
    meta = load_meta(tmp_path / 'o')
    assert meta['folds'] == 3 and meta['options']['exclude_classes'] == ['alpha'] and meta['options']['seed'] == 4
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, [str(src), '--out', str(tmp_path / 'o4'), '--classes', 'nope', 'alpha'])
    assert e.value.code == 2 and "no class folder ['nope']" in capsys.readouterr().err


@pytest.mark.skipif(not REAL.is_dir(), reason=f'real B-ALL data not at {REAL}')
def test_real_data_subset(tmp_path):
    # two classes of the real set keep this fast; the full set is converted by the CLI (docs)
    meta = convert_class_folders(REAL, tmp_path / 'o', classes=['benign', 'pro_b'], log=_quiet)
    assert meta['counts']['all'] == {'benign': 504, 'pro_b': 764}  # README
    assert meta['image_sizes'] == {'224x224': 1268} and meta['identical_images'] == []
    verify_classification_dataset(tmp_path / 'o')
