"""ALL-IDB2 converter (segmentation targets, classification task, annotator agreement) on a small fixture in
the real formats, and on the real data if ../shared is present."""
import importlib.util
import json
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemaseg.data.all_idb2 import annotator_agreement, convert_all_idb2, convert_all_idb2_classification
from hemaseg.data.classification import read_classification_split, verify_classification_dataset
from hemaseg.data.io import DatasetError, read_image, read_mask
from hemaseg.data.layout import load_meta
from hemaseg.data.splits import read_splits, verify_splits
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
REAL = ROOT.parent / 'shared' / 'data' / 'all_idb2'  # ../shared beside the repo

# Fixture geometry (rows, cols): nucleus 4x4 = 16 px, cytoplasm ring 8x8 - 16 = 48 px, the rest background.
NUC = (slice(4, 8), slice(3, 7))
CELL = (slice(2, 10), slice(1, 9))
EXTRA = (slice(2, 4), slice(3, 7))  # 8 cytoplasm px that banik calls nucleus in Im003_1
STRAY_STEM, STRAY_RGB = 'Im002_1', (10, 250, 250)  # 10 from the nucleus code (0, 255, 255) in one channel
PUTZU_RGB = {0: (255, 255, 255), 1: (0, 0, 255), 2: (0, 255, 255)}  # background, cytoplasm, nucleus
BANIK_GREY = {0: 0, 1: 155, 2: 255}
STEMS = [f'Im{i:03d}_1' for i in range(1, 7)] + [f'Im{i:03d}_0' for i in range(7, 13)]
TWINS = ('Im011_0', 'Im012_0')  # byte-identical images


def _codes(h, w):
    codes = np.zeros((h, w), np.uint8)
    codes[CELL] = 1
    codes[NUC] = 2
    return codes


def _write_putzu(path, codes, stray=False):
    rgb = np.zeros(codes.shape + (3,), np.uint8)
    for code, colour in PUTZU_RGB.items():
        rgb[codes == code] = colour
    if stray:
        rgb[5, 4] = STRAY_RGB  # inside the nucleus
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _make_src(root: Path, banik_differs=True):
    rng = np.random.default_rng(0)
    for sub in ('images', 'masks_putzu', 'masks_banik'):
        (root / sub).mkdir(parents=True)
    twin = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    for stem in STEMS:
        h, w = (10, 12) if stem == 'Im005_1' else (12, 10)  # one crop of another size, as in the real set
        image = twin if stem in TWINS else rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(str(root / 'images' / f'{stem}.tif'), image)
        codes = _codes(h, w)
        _write_putzu(root / 'masks_putzu' / f'{stem}.tif', codes, stray=stem == STRAY_STEM)
        banik = codes.copy()
        if banik_differs and stem == 'Im003_1':
            banik[EXTRA] = 2
        cv2.imwrite(str(root / 'masks_banik' / f'{stem}.png'), np.vectorize(BANIK_GREY.get)(banik).astype(np.uint8))
    return root


@pytest.fixture
def src(tmp_path):
    return _make_src(tmp_path / 'src')


# expected label per raw region (background, cytoplasm, nucleus), written out by hand per target
EXPECTED = {'nucleus': (0, 0, 1), 'wholecell': (0, 1, 1), '3class': (0, 1, 2)}


@pytest.mark.parametrize('target', ['nucleus', 'wholecell', '3class'])
@pytest.mark.parametrize('annotator', ['putzu', 'banik'])
def test_labels_per_target_and_annotator(src, tmp_path, target, annotator):
    out = tmp_path / 'out'
    logs = []
    summary = convert_all_idb2(src, out, target=target, annotator=annotator, log=logs.append)
    assert summary['num_images'] == 12 and summary['per_label'] == {'ALL': 6, 'normal': 6}
    bg, cyto, nuc = EXPECTED[target]
    for stem in ('Im001_1', 'Im003_1', 'Im005_1'):
        mask = read_mask(out / 'masks' / f'{stem}.png')
        h, w = (10, 12) if stem == 'Im005_1' else (12, 10)
        expected = np.full((h, w), bg, np.uint8)
        expected[CELL] = cyto
        expected[NUC] = nuc
        if annotator == 'banik' and stem == 'Im003_1':
            expected[EXTRA] = nuc
        assert np.array_equal(mask, expected), stem
    assert np.array_equal(read_image(out / 'images/Im004_1.png'),
                          cv2.cvtColor(cv2.imread(str(src / 'images/Im004_1.tif')), cv2.COLOR_BGR2RGB))
    meta = load_meta(out)
    assert meta['annotator'] == annotator and meta['target'] == target
    assert meta['classes'][0] == 'background' and len(meta['classes']) == len(set(EXPECTED[target]))
    assert meta['labels']['Im001_1'] == 'ALL' and meta['labels']['Im012_0'] == 'normal'
    assert meta['repaired_pixels'] == ({STRAY_STEM: 1} if annotator == 'putzu' else {})
    if annotator == 'putzu':
        assert any(STRAY_STEM in line and '(10, 250, 250) (1 px) -> (0, 255, 255)' in line for line in logs)
    verify_splits(out)


def test_identical_images_grouped_and_labels_stratified(src, tmp_path):
    out = tmp_path / 'out'
    convert_all_idb2(src, out, seed=3, log=lambda _: None)
    meta = load_meta(out)
    assert meta['identical_images'] == [list(TWINS)]
    assert meta['groups'][TWINS[0]] == meta['groups'][TWINS[1]]
    stems, folds = read_splits(out)
    assert sorted(stems) == sorted(STEMS)
    for fold in folds:
        where = [name for name in ('train', 'val', 'test') for s in fold[name] if s in TWINS]
        assert len(set(where)) == 1
    # the five test chunks: 6 ALL items spread 2,1,1,1,1 and 6 normal ones (one pair) likewise
    for label in ('_1', '_0'):
        per_chunk = sorted(sum(s.endswith(label) for s in f['test']) for f in folds)
        assert per_chunk == [1, 1, 1, 1, 2], label
    verify_splits(out)


def test_errors_name_files(src, tmp_path):
    with pytest.raises(DatasetError, match=rf'masks_putzu/{STRAY_STEM}\.tif has unexpected colours \(10, 250, 250\)'):
        convert_all_idb2(src, tmp_path / 'o1', snap_tolerance=0, log=lambda _: None)
    assert not (tmp_path / 'o1').exists()  # everything is checked before the output is touched
    (src / 'masks_banik/Im004_1.png').unlink()
    with pytest.raises(DatasetError, match=r'1 image\(s\) have no banik mask .*Im004_1'):
        convert_all_idb2(src, tmp_path / 'o2', annotator='banik', log=lambda _: None)
    convert_all_idb2(src, tmp_path / 'o2', annotator='putzu', log=lambda _: None)  # only the chosen set is needed
    cv2.imwrite(str(src / 'masks_putzu/Im006_1.tif'), np.full((5, 5, 3), 255, np.uint8))
    with pytest.raises(DatasetError, match=r'size mismatch.*images/Im006_1\.tif.*masks_putzu/Im006_1\.tif'):
        convert_all_idb2(src, tmp_path / 'o3', log=lambda _: None)
    cv2.imwrite(str(src / 'images/cell7.tif'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"not ImNNN_L.*\['cell7\.tif'\]"):
        convert_all_idb2(src, tmp_path / 'o4', log=lambda _: None)
    with pytest.raises(DatasetError, match='unknown target'):
        convert_all_idb2(src, tmp_path / 'o5', target='cell', log=lambda _: None)


def test_grey_value_in_banik_mask_is_an_error_or_snapped(src, tmp_path):
    m = cv2.imread(str(src / 'masks_banik/Im001_1.png'), cv2.IMREAD_UNCHANGED)
    m[0, 0] = 77  # 77 from background 0, 78 from cytoplasm 155: beyond the tolerance of 10
    m[0, 1] = 150  # 5 from cytoplasm 155
    cv2.imwrite(str(src / 'masks_banik/Im001_1.png'), m)
    with pytest.raises(DatasetError, match=r'masks_banik/Im001_1\.png has unexpected values 77'):
        convert_all_idb2(src, tmp_path / 'o', annotator='banik', snap_tolerance=10, log=lambda _: None)
    m[0, 0] = 0
    cv2.imwrite(str(src / 'masks_banik/Im001_1.png'), m)
    convert_all_idb2(src, tmp_path / 'o', annotator='banik', target='3class', snap_tolerance=10, log=lambda _: None)
    assert read_mask(tmp_path / 'o/masks/Im001_1.png')[0, 1] == 1  # snapped to cytoplasm
    assert load_meta(tmp_path / 'o')['repaired_pixels'] == {'Im001_1': 1}


def test_agreement_is_one_for_equal_masks(tmp_path):
    src = _make_src(tmp_path / 'same', banik_differs=False)
    for target in ('nucleus', 'wholecell', '3class'):
        result = annotator_agreement(src, target, log=lambda _: None)
        for cls, s in result['classes'].items():
            assert set(s.values()) == {1.0}, (target, cls)
            assert s.keys() >= {'Dice', 'mDice', 'IoU', 'mIoU', 'Accuracy', 'Precision', 'Recall'}


def test_agreement_hand_computed(src):
    # Banik adds 8 nucleus px (taken from cytoplasm) in one of 12 images, each with a 16 px nucleus:
    # TP = 12 * 16 = 192, FP = 8, FN = 0.
    nuc = annotator_agreement(src, 'nucleus', log=lambda _: None)['classes']['nucleus']
    assert nuc['Dice'] == pytest.approx(384 / 392)
    assert nuc['IoU'] == pytest.approx(192 / 200)
    assert nuc['Precision'] == pytest.approx(192 / 200) and nuc['Recall'] == 1.0
    assert nuc['Accuracy'] == pytest.approx(1 - 8 / (12 * 120))  # every fixture image has 12 * 10 px
    assert nuc['mDice'] == pytest.approx((11 + 32 / 40) / 12)
    assert nuc['mIoU'] == pytest.approx((11 + 16 / 24) / 12)
    if 'Specificity' in nuc:  # TN + FP = 12 * (120 - 16) negatives
        assert nuc['Specificity'] == pytest.approx(1 - 8 / (12 * 104))
    # the extra nucleus px lie in the cytoplasm, so the whole cell is the same in both sets
    cell = annotator_agreement(src, 'wholecell', log=lambda _: None)['classes']['cell']
    assert cell['Dice'] == 1.0 and cell['mIoU'] == 1.0
    three = annotator_agreement(src, '3class', log=lambda _: None)
    cyto = three['classes']['cytoplasm']  # TP 12*48 - 8, FN 8, FP 0
    assert cyto['IoU'] == pytest.approx((576 - 8) / 576)
    assert three['per_image']['Im003_1']['nucleus']['Dice'] == pytest.approx(0.8)
    assert three['by_label']['nucleus']['normal']['Dice'] == 1.0  # the difference is in an ALL image


def test_classification_task(src, tmp_path):
    out = tmp_path / 'cls'
    meta = convert_all_idb2_classification(src, out, seed=3, log=lambda _: None)
    assert meta['classes'] == ['normal', 'ALL'] and meta['counts']['all'] == {'normal': 6, 'ALL': 6}
    assert meta['identical_images'] == [[f'normal/{s}.tif' for s in TWINS]]
    assert 'leakage_warning' in meta
    assert (out / 'images/ALL/Im001_1.tif').read_bytes() == (src / 'images/Im001_1.tif').read_bytes()
    items = read_classification_split(out / 'splits/all.txt')
    assert all(lab == int(key[-5]) for key, lab in items)  # label index == the ImNNN_L digit
    verify_classification_dataset(out)
    # same seed -> the same test sets as the segmentation conversion, so a segment-then-classify
    # pipeline never tests a cell its segmenter was trained on
    convert_all_idb2(src, tmp_path / 'seg', seed=3, log=lambda _: None)
    _, seg_folds = read_splits(tmp_path / 'seg')
    for k, fold in enumerate(seg_folds):
        for split in ('train', 'val', 'test'):
            cls = read_classification_split(out / f'splits/fold{k}_{split}.txt')
            assert sorted(Path(key).stem for key, _ in cls) == fold[split]


def _cli():
    spec = importlib.util.spec_from_file_location('cli_all_idb2', ROOT / 'tools/dataset_converters/all_idb2.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(src, tmp_path, capsys, monkeypatch):
    cli = _cli()
    assert cli.parse_args(['s']).folds == 5 and cli.parse_args(['s']).annotator == 'putzu'
    monkeypatch.chdir(tmp_path)
    cli.main([str(src), '--target', 'wholecell', '--folds', '3'])
    assert 'splits verified' in capsys.readouterr().out
    assert load_meta(tmp_path / 'data/all_idb2_wholecell')['folds'] == 3
    cli.main([str(src), '--agreement'])
    printed = capsys.readouterr().out
    assert 'banik vs putzu' in printed and 'nucleus' in printed
    saved = json.loads((tmp_path / 'data/all_idb2_agreement_nucleus.json').read_text())
    assert saved['classes']['nucleus']['Dice'] == pytest.approx(384 / 392)
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, [str(tmp_path / 'nowhere'), '--task', 'classification'])
    assert e.value.code == 2 and 'no images folder' in capsys.readouterr().err


@pytest.mark.skipif(not REAL.is_dir(), reason=f'real ALL-IDB2 data not at {REAL}')
def test_real_data(tmp_path):
    t0 = time.perf_counter()
    summary = convert_all_idb2(REAL, tmp_path / 'seg', log=lambda _: None)
    seconds = time.perf_counter() - t0
    assert summary['per_label'] == {'ALL': 130, 'normal': 130}
    assert summary['identical_images'] == [['Im223_0', 'Im257_0']]  # README: byte-identical
    assert summary['repaired_pixels'] == {}
    assert verify_splits(tmp_path / 'seg')['folds'] == [{'train': 156, 'val': 52, 'test': 52}] * 5
    meta = convert_all_idb2_classification(REAL, tmp_path / 'cls', log=lambda _: None)
    assert meta['counts']['folds'][0]['test'] == {'normal': 26, 'ALL': 26}
    verify_classification_dataset(tmp_path / 'cls')
    assert seconds < 20, f'converting ALL-IDB2 took {seconds:.1f} s'
    sizes = Counter(read_mask(p).shape for p in (tmp_path / 'seg/masks').glob('*.png'))
    assert sizes[(257, 257)] == 250  # README: 257x257 crops (a few are cut smaller)
