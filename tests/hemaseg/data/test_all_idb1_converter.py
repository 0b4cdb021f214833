"""ALL-IDB1 converter (classification + centroids, or whole-cell segmentation with user masks) on a small
fixture in the distributed format: im/ImNNN_L.jpg, xyc/ImNNN_L.xyc ("x<TAB>y" lines, CRLF, empty for healthy)."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemaseg.data.all_idb1 import convert_all_idb1, read_xyc
from hemaseg.data.classification import read_classification_split, verify_classification_dataset
from hemaseg.data.io import DatasetError, read_image, read_mask
from hemaseg.data.layout import load_meta
from hemaseg.data.splits import read_splits, verify_splits
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
ALL = [f'Im{i:03d}_1' for i in range(1, 7)]
NORMAL = [f'Im{i:03d}_0' for i in range(7, 13)]
TWINS = ('Im011_0', 'Im012_0')  # byte-identical fields
BIG = ('Im001_1', 'Im007_0')  # a second field size, as ALL-IDB1 has two
# blast centroids (x = column, y = row) written into the .xyc files, and the expected parse
CENTROIDS = {s: [[3 + i, 2 + 2 * i], [30, 20]][: 1 + i % 2] for i, s in enumerate(ALL)}
CELL = (slice(5, 15), slice(10, 22))  # rows, cols of the cell in every mask
ZERO_ONE = ('Im002_1', 'Im008_0')  # masks coded 0/1; the others 0/255
STRAY = 'Im003_1'  # one mask pixel of 250 inside the cell (5 from 255)


def _size(stem):
    return (32, 44) if stem in BIG else (24, 36)  # (h, w)


def _make_src(root: Path, flat=False):
    rng = np.random.default_rng(0)
    im_dir, xyc_dir = (root, root) if flat else (root / 'im', root / 'xyc')
    im_dir.mkdir(parents=True)
    xyc_dir.mkdir(exist_ok=True)
    twin = rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)
    for stem in ALL + NORMAL:
        image = twin if stem in TWINS else rng.integers(0, 256, _size(stem) + (3,), dtype=np.uint8)
        cv2.imwrite(str(im_dir / f'{stem}.jpg'), image)
        lines = ''.join(f'{x}\t{y}\r\n' for x, y in CENTROIDS.get(stem, []))
        (xyc_dir / f'{stem}.xyc').write_bytes(lines.encode())
    return root


def _make_masks(folder: Path):
    folder.mkdir()
    for stem in ALL + NORMAL:
        cells = np.zeros(_size(stem), np.uint8)
        cells[CELL] = 1
        if stem in ZERO_ONE:
            cv2.imwrite(str(folder / f'{stem}.tif'), cells)
        else:
            grey = cells * 255
            if stem == STRAY:
                grey[6, 12] = 250
            cv2.imwrite(str(folder / f'{stem}.png'), grey)
    return folder


@pytest.fixture
def src(tmp_path):
    return _make_src(tmp_path / 'ALL_IDB1')


def _quiet(_):
    pass


def test_read_xyc_formats(tmp_path):
    p = tmp_path / 'a.xyc'
    p.write_bytes(b'\xef\xbb\xbf446\t62\r\n164 279\r\n\r\n168,377\n12.5\t7\n')  # BOM, tab, blank, comma, decimal
    assert read_xyc(p) == [[446, 62], [164, 279], [168, 377], [12.5, 7]]
    p.write_text('')
    assert read_xyc(p) == []


def test_classification_without_masks(src, tmp_path):
    out = tmp_path / 'cls'
    logs = []
    meta = convert_all_idb1(src, out, seed=2, log=logs.append)
    assert meta['classes'] == ['normal', 'ALL'] and meta['counts']['all'] == {'normal': 6, 'ALL': 6}
    assert meta['blast_centroids'] == {**CENTROIDS, **{s: [] for s in NORMAL}}
    assert meta['labels']['Im001_1'] == 'ALL' and meta['labels']['Im007_0'] == 'normal'
    assert 'no pixel masks' in meta['pixel_masks'] and 'leakage_warning' in meta
    assert meta['centroid_warnings'] == []
    assert meta['image_sizes'] == {'36x24': 10, '44x32': 2}
    assert meta['identical_images'] == [[f'normal/{s}.jpg' for s in TWINS]]
    assert (out / 'images/ALL/Im004_1.jpg').read_bytes() == (src / 'im/Im004_1.jpg').read_bytes()  # no re-encoding
    items = read_classification_split(out / 'splits/all.txt')
    assert len(items) == 12 and all(lab == int(key[-5]) for key, lab in items)  # label index == the L digit
    point = json.loads((out / 'points/Im002_1.json').read_text())
    assert point['blast_centroids'] == CENTROIDS['Im002_1'] and point['label'] == 'ALL'
    assert (point['width'], point['height']) == (36, 24)
    assert json.loads((out / 'points/Im009_0.json').read_text())['blast_centroids'] == []
    assert any('no pixel masks' in line for line in logs)
    verify_classification_dataset(out)


def test_segmentation_with_masks(src, tmp_path):
    masks = _make_masks(tmp_path / 'masks')
    out = tmp_path / 'seg'
    logs = []
    meta = convert_all_idb1(src, out, masks=masks, seed=2, log=logs.append)
    assert meta['classes'] == ['background', 'cell'] and meta['target'] == 'wholecell'
    for stem in ('Im001_1', 'Im002_1', STRAY, 'Im008_0'):
        expected = np.zeros(_size(stem), np.uint8)
        expected[CELL] = 1  # the stray 250 pixel lies inside the cell
        assert np.array_equal(read_mask(out / 'masks' / f'{stem}.png'), expected), stem
    assert meta['repaired_pixels'] == {STRAY: 1}
    assert any(STRAY in line and '250 (1 px) -> 255' in line for line in logs)
    # full resolution, pixels as decoded from the source JPEG
    original = cv2.cvtColor(cv2.imread(str(src / 'im/Im001_1.jpg')), cv2.COLOR_BGR2RGB)
    assert np.array_equal(read_image(out / 'images/Im001_1.png'), original)
    assert meta['blast_centroids']['Im005_1'] == CENTROIDS['Im005_1']
    assert json.loads((out / 'points/Im005_1.json').read_text())['blast_centroids'] == CENTROIDS['Im005_1']
    assert meta['identical_images'] == [list(TWINS)] and meta['groups'][TWINS[0]] == meta['groups'][TWINS[1]]
    verify_splits(out)
    # stratified by label: each test chunk holds 1-2 ALL and 1-2 normal fields
    _, folds = read_splits(out)
    for label in ('_1', '_0'):
        assert sorted(sum(s.endswith(label) for s in f['test']) for f in folds) == [1, 1, 1, 1, 2]
    # same seed -> the same test fields as the classification conversion (segment-then-classify never
    # tests a field its segmenter was trained on)
    convert_all_idb1(src, tmp_path / 'cls', seed=2, log=_quiet)
    for k, fold in enumerate(folds):
        cls = read_classification_split(tmp_path / f'cls/splits/fold{k}_test.txt')
        assert sorted(Path(key).stem for key, _ in cls) == fold['test']


def test_flat_folder_and_rerun_replace_stale_points(tmp_path):
    src = _make_src(tmp_path / 'flat', flat=True)
    out = tmp_path / 'o'
    convert_all_idb1(src, out, log=_quiet)
    (out / 'points/stale.json').write_text('{}')
    meta = convert_all_idb1(src, out, log=_quiet)
    assert meta['num_images'] == 12 and not (out / 'points/stale.json').exists()
    assert len(list((out / 'points').glob('*.json'))) == 12


def test_centroids_contradicting_the_label_are_warned(src, tmp_path):
    (src / 'xyc/Im009_0.xyc').write_text('5\t5\n')
    (src / 'xyc/Im004_1.xyc').write_text('')
    logs = []
    meta = convert_all_idb1(src, tmp_path / 'o', log=logs.append)
    assert meta['centroid_warnings'] == ['Im004_1: ALL field without blast centroids',
                                         'Im009_0: healthy field with 1 blast centroid(s)']
    assert 'warning: Im009_0: healthy field with 1 blast centroid(s)' in logs


def test_errors_name_files(src, tmp_path):
    masks = _make_masks(tmp_path / 'masks')
    out = tmp_path / 'o'

    def fails(pattern, **kw):
        with pytest.raises(DatasetError, match=pattern):
            convert_all_idb1(src, out, log=_quiet, **kw)
        assert not out.exists()  # everything is checked before the output is touched

    (src / 'xyc/Im002_1.xyc').write_text('3\t4\n3 4 5\n')
    fails(r'xyc/Im002_1\.xyc line 2: expected two numbers')
    (src / 'xyc/Im002_1.xyc').write_text('36\t25\n')  # y = 25 > height 24: x and y swapped?
    fails(r'Im002_1\.xyc: 1 centroid\(s\) outside the 36x24 \(WxH\) image')
    (src / 'xyc/Im002_1.xyc').unlink()
    fails(r'1 image\(s\) .* have no \.xyc centroid file .*Im002_1')
    (src / 'xyc/Im002_1.xyc').write_text('')
    (src / 'xyc/Im099_1.xyc').write_text('')
    fails(r'annotation\(s\) have no image .*Im099_1\.xyc')
    (src / 'xyc/Im099_1.xyc').unlink()
    cv2.imwrite(str(masks / 'Im004_1.png'), np.zeros((5, 5), np.uint8))
    fails(r'size mismatch: image .*im/Im004_1\.jpg .*masks/Im004_1\.png', masks=masks)
    cv2.imwrite(str(masks / 'Im004_1.png'), np.arange(24 * 36, dtype=np.uint8).reshape(24, 36) % 3)  # ids 0..2
    fails(r'mask .*Im004_1\.png has values \[0, 1, 2\].*neither 0/1 nor 0/255', masks=masks)
    (masks / 'Im004_1.png').unlink()
    fails(r'1 image\(s\) have no mask .*Im004_1', masks=masks)
    cv2.imwrite(str(src / 'im/field7.jpg'), np.zeros((4, 4, 3), np.uint8))
    fails(r"not ImNNN_L.*\['field7\.jpg'\]")
    with pytest.raises(DatasetError, match='does not exist'):
        convert_all_idb1(tmp_path / 'nowhere', out, log=_quiet)


def _cli():
    spec = importlib.util.spec_from_file_location('cli_all_idb1', ROOT / 'tools/dataset_converters/all_idb1.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(src, tmp_path, capsys, monkeypatch):
    cli = _cli()
    assert cli.parse_args(['s']).folds == 5 and cli.parse_args(['s']).masks is None
    monkeypatch.chdir(tmp_path)
    cli.main([str(src), '--folds', '3'])
    assert 'splits verified' in capsys.readouterr().out
    assert load_meta(tmp_path / 'data/all_idb1')['folds'] == 3
    cli.main([str(src), '--masks', str(_make_masks(tmp_path / 'm'))])
    assert 'splits verified' in capsys.readouterr().out
    assert load_meta(tmp_path / 'data/all_idb1_wholecell')['classes'] == ['background', 'cell']
    (src / 'xyc/Im001_1.xyc').write_text('oops\n')
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, [str(src), '--out', str(tmp_path / 'x')])
    assert e.value.code == 2 and 'Im001_1.xyc line 1' in capsys.readouterr().err
