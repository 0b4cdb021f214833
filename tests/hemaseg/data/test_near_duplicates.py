"""Near-duplicate images (64-bit dHash) are found, joined transitively and kept on one side of every fold."""
import importlib.util
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import hemaseg.data.duplicates as duplicates
from hemaseg.data.classification import (ClassificationWriter, convert_class_folders, read_classification_split,
                                         verify_classification_dataset)
from hemaseg.data.coco_writer import CocoWriter
from hemaseg.data.duplicates import (NEAR_DUP_DISTANCE, check_near_dup_distance, dhash, dhash_or_none,
                                     find_near_duplicates, hamming_distance, join_labelled_groups,
                                     near_duplicate_groups, near_duplicate_pairs)
from hemaseg.data.io import DatasetError, read_image
from hemaseg.data.layout import DatasetWriter, load_meta
from hemaseg.data.splits import SPLIT_NAMES, read_splits, verify_splits
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
REAL = ROOT.parent / 'shared' / 'data' / 'b_all_aria2021'
SIZE = 256  # side of the synthetic fields


def _field(seed: int, size: int = SIZE + 8) -> np.ndarray:
    """A synthetic RGB smear field: unevenly lit background, a dozen stained discs, blur and noise.

    Large discs and the illumination slope give adjacent 9x8 cells clearly different means, as in
    real fields; a flat background would make every comparison a tie decided by noise.
    """
    rng = np.random.default_rng(seed)
    slope = np.linspace(1, 0, size, dtype=np.float32)
    img = np.empty((size, size, 3), np.float32)
    img[:] = (150 + 60 * slope)[None, :, None] * np.float32([1.0, 0.93, 0.97])
    for _ in range(int(rng.integers(8, 14))):
        x, y = rng.uniform(0, size, 2)
        cv2.circle(img, (int(x), int(y)), int(rng.uniform(14, 40)), rng.uniform(40, 140, 3).tolist(), -1,
                   lineType=cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 2.5)
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)


def _view(field: np.ndarray, dy: int = 0, dx: int = 0) -> np.ndarray:
    """The SIZE x SIZE window of ``field`` shifted by (dy, dx): the same field photographed again."""
    return np.ascontiguousarray(field[dy:dy + SIZE, dx:dx + SIZE])


def _jpeg_bytes(rgb: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _jpeg(rgb: np.ndarray, quality: int = 85) -> np.ndarray:
    data = np.frombuffer(_jpeg_bytes(rgb, quality), np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ----------------------------------------------------------------------------- the hash


@pytest.mark.parametrize('seed', range(5))
def test_dhash_survives_jpeg_and_small_shifts_but_tells_fields_apart(seed):
    field = _field(seed)
    base = dhash(_view(field))
    assert 0 <= base < 2 ** 64
    assert dhash(_jpeg(_view(field))) == base  # re-encoded at quality 85
    for dy, dx in ((2, 3), (3, 2), (3, 3)):
        assert hamming_distance(base, dhash(_jpeg(_view(field, dy, dx)))) <= NEAR_DUP_DISTANCE, (dy, dx)
    for other in range(100, 103):  # unrelated fields are far apart
        assert hamming_distance(base, dhash(_view(_field(other)))) > 2 * NEAR_DUP_DISTANCE


def test_dhash_definition():
    # left brighter than right in every row -> every bit set; a flat image -> no bit
    ramp = np.tile(np.linspace(255, 0, 90).astype(np.uint8), (40, 1))
    assert dhash(ramp) == 2 ** 64 - 1
    assert dhash(np.full((30, 30, 3), 77, np.uint8)) == 0
    # the first bit compares the top-left cells; it is the most significant bit
    grey = np.full((8, 9), 100, np.uint8)
    grey[0, 0] = 200
    assert dhash(grey) == 1 << 63
    # grey, RGB, RGBA and a single channel give the same hash for the same picture
    rgb = _view(_field(7))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert dhash(rgb) == dhash(np.dstack([rgb, np.full(grey.shape, 255, np.uint8)])) == dhash(grey) \
        == dhash(grey[:, :, None])
    for bad in (rgb.astype(np.float32), rgb[:, :, :2], np.zeros((0, 5), np.uint8)):
        with pytest.raises(ValueError, match='dhash: expected'):
            dhash(bad)
    # every comparison a tie (blank, or changing only from top to bottom): no hash to compare
    assert dhash_or_none(np.full((30, 30, 3), 77, np.uint8)) is None
    assert dhash_or_none(np.repeat(np.arange(0, 240, 8, dtype=np.uint8)[:, None], 30, axis=1)) is None
    assert dhash_or_none(ramp) == dhash(ramp) and dhash_or_none(rgb) == dhash(rgb)


def test_hamming_distance():
    assert hamming_distance(0, 0) == 0
    assert hamming_distance(0, 2 ** 64 - 1) == 64
    assert hamming_distance(0b1011, 0b0110) == 3
    assert hamming_distance(np.uint64(5), 4) == 1


# ----------------------------------------------------------------------------- pairs and groups


def _brute_force_pairs(hashes, max_distance):
    keys = sorted(hashes)
    return sorted((a, b, hamming_distance(hashes[a], hashes[b])) for i, a in enumerate(keys) for b in keys[i + 1:]
                  if hamming_distance(hashes[a], hashes[b]) <= max_distance)


@pytest.mark.parametrize('block', [1 << 22, 7, 1])  # one block, several blocks, one row at a time
def test_pairs_match_brute_force(monkeypatch, block):
    monkeypatch.setattr(duplicates, '_PAIR_BLOCK_ELEMENTS', block)
    rng = np.random.default_rng(0)
    hashes = {f'k{i:03d}': int(h) for i, h in enumerate(rng.integers(0, 2 ** 63, 120, dtype=np.uint64) * 2 + 1)}
    keys = sorted(hashes)
    for i in range(0, 40, 4):  # plant near copies: flip 1..5 bits of another key's hash
        flips = rng.choice(64, size=1 + i % 5, replace=False)
        hashes[keys[i + 1]] = hashes[keys[i]] ^ sum(1 << int(b) for b in flips)
    hashes['top'] = 2 ** 64 - 1  # the full unsigned range survives the uint64 round trip
    hashes['top2'] = 2 ** 64 - 2
    for max_distance in (0, 3, 6, 12):
        assert near_duplicate_pairs(hashes, max_distance) == _brute_force_pairs(hashes, max_distance)
    assert ('top', 'top2', 1) in near_duplicate_pairs(hashes, 1)
    assert near_duplicate_pairs({}, 6) == [] and near_duplicate_pairs({'a': 1}, 6) == []


def test_groups_are_transitive():
    # a ~ b and b ~ c within 3 bits, a and c 6 bits apart: still one group of three
    hashes = {'a': 0, 'b': 0b111, 'c': 0b111111, 'd': 2 ** 64 - 1, 'e': 2 ** 64 - 1 - 1}
    assert hamming_distance(hashes['a'], hashes['c']) > 3
    assert near_duplicate_groups(hashes, 3) == [['a', 'b', 'c'], ['d', 'e']]
    assert near_duplicate_groups(hashes, 2) == [['d', 'e']]  # a-b and b-c are 3 apart
    assert near_duplicate_groups(hashes, 0) == []


def test_pairs_are_fast_enough_for_ten_thousand_images():
    hashes = {f'img{i:05d}': int(h) for i, h in
              enumerate(np.random.default_rng(1).integers(0, 2 ** 63, 10_000, dtype=np.uint64))}
    t0 = time.perf_counter()
    near_duplicate_pairs(hashes, NEAR_DUP_DISTANCE)
    # ~0.5 s with np.bitwise_count on one core; a pure-Python double loop takes minutes
    assert time.perf_counter() - t0 < 20


def test_threshold_checks():
    assert check_near_dup_distance(None) is None and check_near_dup_distance(-1) is None
    assert check_near_dup_distance(0) == 0 and check_near_dup_distance(64) == 64
    for bad in (65, 2.5, True, '6'):
        with pytest.raises(DatasetError, match='near-duplicate distance must be an integer from 0 to 64'):
            check_near_dup_distance(bad)


def test_strata_separate_pairs_and_oversized_groups_are_reported():
    # 'x' and 'y' are copies in two strata: reported, not joined
    hashes = {'x': 0, 'y': 1, 'z': 2 ** 40 - 1}
    found = find_near_duplicates(hashes, 2, separate={'x': 'A', 'y': 'B', 'z': 'A'}, separated_by='classes')
    assert found.groups == [] and found.unjoined == [('x', 'y', 1)]
    assert 'lie in different classes' in found.warnings()[0] and 'x / y (distance 1)' in found.warnings()[0]
    assert found.meta()['unjoined_pairs'] == [['x', 'y', 1]]
    # a chain of look-alikes (each one bit from the next) bigger than a fifth of its stratum
    chain = {f'c{i}': (1 << i) - 1 for i in range(6)}
    others = {f'o{i}': (2 ** 64 - 1) ^ (i << 20) * 0x5555 for i in range(14)}
    found = find_near_duplicates({**chain, **others}, 1)
    assert found.groups[0] == sorted(chain) and found.oversized == [(sorted(chain), 4.0)]
    assert any('group of 6 images' in w and 'folds will be unequal' in w for w in found.meta()['warnings'])
    assert find_near_duplicates(hashes, None).meta() == {'max_distance': None,
                                                         'method': 'off (--no-near-dup or --near-dup-distance -1)'}


def test_join_keeps_labels_unless_groups_merge():
    keys = ['a1', 'a2', 'b1', 'c1', 'd1']
    given = {'a1': 'A', 'a2': 'A', 'b1': 'B', 'c1': 'C', 'd1': 'D'}
    assert join_labelled_groups(keys, given, []) == given
    assert join_labelled_groups(keys, given, [['a1', 'a2']]) == given  # inside one group: nothing changes
    assert join_labelled_groups(keys, given, [['a2', 'c1']]) == {**given, 'c1': 'A'}
    assert join_labelled_groups(keys, None, []) is None
    assert join_labelled_groups(keys, None, [['d1', 'b1']]) == {'a1': 'a1', 'a2': 'a2', 'b1': 'b1', 'c1': 'c1',
                                                                'd1': 'b1'}


# ----------------------------------------------------------------------------- converters

# class -> base fields (seeds) and, per near-duplicate group, its members as (seed, dy, dx, jpeg?)
PLANTED = {
    'alpha': [(0, 0, 0, False), (0, 2, 3, True)],
    'beta': [(10, 0, 0, False), (10, 3, 2, True), (10, 3, 3, True)],
    'gamma': [(20, 0, 0, False), (20, 2, 2, True)],
    'gamma2': [(21, 0, 0, False), (21, 3, 1, True)],
    'beta2': [(11, 0, 0, False), (11, 1, 3, True)],
}


def _write_tree(root: Path) -> list[list[str]]:
    """Class folders alpha/beta/gamma with 10 unrelated fields each plus shifted, re-encoded copies of
    five of them; returns the planted groups as sorted '<class>/<file>' keys."""
    groups = []
    for c, cls in enumerate(('alpha', 'beta', 'gamma')):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            bgr = cv2.cvtColor(_view(_field(10 * c + i)), cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(root / cls / f'field_{i:02d}.png'), bgr)
    for name, members in PLANTED.items():
        cls = name.rstrip('2')
        keys = []
        for seed, dy, dx, _ in members:
            if (dy, dx) == (0, 0):
                keys.append(f'{cls}/field_{seed % 10:02d}.png')
            else:
                file = f'field_{seed % 10:02d}_again_{dy}{dx}.jpg'
                (root / cls / file).write_bytes(_jpeg_bytes(_view(_field(seed), dy, dx)))
                keys.append(f'{cls}/{file}')
        groups.append(sorted(keys))
    return sorted(groups)


def _split_of(out: Path, k: int) -> dict[str, str]:
    return {key: name for name in SPLIT_NAMES
            for key, _ in read_classification_split(out / f'splits/fold{k}_{name}.txt')}


def _split_groups(out: Path, groups, num_folds=5) -> list[tuple[int, list[str]]]:
    """(fold, group) for every planted group whose members lie in more than one split of a fold."""
    return [(k, g) for k in range(num_folds) for g in groups if len({_split_of(out, k)[m] for m in g}) > 1]


def test_class_folders_keep_near_duplicates_together(tmp_path):
    src = tmp_path / 'src'
    planted = _write_tree(src)
    logs = []
    meta = convert_class_folders(src, tmp_path / 'on', seed=3, log=logs.append)
    near = meta['near_duplicates']
    assert near['max_distance'] == NEAR_DUP_DISTANCE and near['groups'] == planted
    assert near['num_groups'] == 5 and near['group_sizes'] == {'2': 4, '3': 1} and near['largest_group'] == 3
    assert meta['identical_images'] == [] and 'near-duplicates' in meta['grouping']
    for g in planted:  # one group id per planted group in meta.json, which verify checks for leakage
        assert len({meta['groups'][k] for k in g}) == 1
    assert _split_groups(tmp_path / 'on', planted) == []
    verify_classification_dataset(tmp_path / 'on')
    report = [line for line in logs if 'near-duplicates (dHash' in line or 'e.g.' in line]
    assert report[0].strip().startswith(f'near-duplicates (dHash distance <= {NEAR_DUP_DISTANCE}): 5 group(s) of 11')
    assert 'beta/field_00.png, beta/field_00_again_32.jpg, beta/field_00_again_33.jpg' in report[1]

    # switched off, the same seed splits some of them between train and test: the grouping above did the work
    meta = convert_class_folders(src, tmp_path / 'off', seed=3, near_dup_distance=None, log=lambda _: None)
    assert meta['near_duplicates']['max_distance'] is None and meta['grouping'] == 'identical images only'
    assert _split_groups(tmp_path / 'off', planted) != []


def test_near_duplicates_in_two_classes_are_reported_not_joined(tmp_path):
    src = tmp_path / 'src'
    _write_tree(src)
    (src / 'gamma' / 'from_alpha.jpg').write_bytes(_jpeg_bytes(_view(_field(3), 1, 2)))  # alpha/field_03.png
    logs = []
    meta = convert_class_folders(src, tmp_path / 'o', log=logs.append)
    unjoined = meta['near_duplicates']['unjoined_pairs']
    assert [p[:2] for p in unjoined] == [['alpha/field_03.png', 'gamma/from_alpha.jpg']]
    assert any(line.startswith('warning: 1 near-duplicate pair(s) lie in different classes') for line in logs)
    verify_classification_dataset(tmp_path / 'o')


def test_given_chunks_join_only_within_a_chunk(tmp_path):
    # official folds (C-NMC 'official' mode) cannot move: a copy in another chunk is reported instead
    src = tmp_path / 'src'
    src.mkdir()
    writer = ClassificationWriter(tmp_path / 'o', dataset='t', classes=['a', 'b'], converter='test', source='t',
                                  options={}, num_folds=3, log=lambda _: None)
    chunk_of = {}
    for i in range(12):
        path = src / f'f{i:02d}.png'
        cv2.imwrite(str(path), cv2.cvtColor(_view(_field(i)), cv2.COLOR_RGB2BGR))
        chunk_of[writer.add('ab'[i % 2], path.name, path)] = i % 3
    for name, seed, chunk in (('f00_same_chunk.jpg', 0, 0), ('f02_other_chunk.jpg', 2, 0)):
        (src / name).write_bytes(_jpeg_bytes(_view(_field(seed), 2, 3)))
        chunk_of[writer.add('a', name, src / name)] = chunk
    writer.finalize(chunk_of=chunk_of)
    near = load_meta(tmp_path / 'o')['near_duplicates']
    assert near['groups'] == [['a/f00.png', 'a/f00_same_chunk.jpg']]
    assert [p[:2] for p in near['unjoined_pairs']] == [['a/f02.png', 'a/f02_other_chunk.jpg']]  # f02: chunk 2
    assert 'different classes or given chunks' in near['warnings'][0]
    verify_classification_dataset(tmp_path / 'o')


def _segmentation_samples():
    """(stem, image, stratum, group) with the planted copies; 'b' copies are in another stratum."""
    samples = [(f'f{i:02d}', _view(_field(i)), 'A' if i < 10 else 'B', f'src{i // 2}') for i in range(20)]
    samples += [('f03_again', _jpeg(_view(_field(3), 2, 3)), 'A', 'src_x'),   # joins src1 (f02, f03)
                ('f08_again', _jpeg(_view(_field(8), 3, 2)), 'B', 'src_y')]   # f08 is in stratum A
    return samples


@pytest.mark.parametrize('writer_kind', ['segmentation', 'coco'])
def test_segmentation_and_coco_writers_join_near_duplicates_into_groups(tmp_path, writer_kind):
    logs = []
    if writer_kind == 'segmentation':
        writer = DatasetWriter(tmp_path / 'o', dataset='t', classes='nucleus', converter='test', source='test',
                               options={}, seed=1, log=logs.append)
    else:
        writer = CocoWriter(tmp_path / 'o', categories=['cell'], dataset='t', converter='test', source='test',
                            options={}, seed=1, log=logs.append)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[100:150, 100:150] = 1
    for stem, image, stratum, group in _segmentation_samples():
        if writer_kind == 'segmentation':
            writer.add(stem, image, mask, group=group, stratum=stratum)
        else:
            writer.add(stem, image, [('cell', mask.astype(bool))], group=group, stratum=stratum)
    writer.finalize()
    meta = load_meta(tmp_path / 'o')
    near = meta['near_duplicates']
    assert near['groups'] == [['f03', 'f03_again']]
    assert [p[:2] for p in near['unjoined_pairs']] == [['f08', 'f08_again']]  # two strata: reported only
    groups = meta['groups']
    assert groups['f03_again'] == groups['f02'] == groups['f03'] == 'src1'  # joined group keeps its label
    assert groups['f08_again'] == 'src_y' and groups['f00'] == 'src0'
    assert any(line.startswith('warning: 1 near-duplicate pair(s) lie in different strata') for line in logs)
    if writer_kind == 'segmentation':
        _, folds = read_splits(tmp_path / 'o')
        verify_splits(tmp_path / 'o')  # checks meta.json groups for leakage
    else:
        folds = [{name: [im['file_name'][:-4] for im in
                         json.loads((tmp_path / f'o/annotations/fold{k}_{name}.json').read_text())['images']]
                  for name in SPLIT_NAMES} for k in range(5)]
    for fold in folds:
        side = {s: name for name, stems in fold.items() for s in stems}
        assert len({side[s] for s in ('f02', 'f03', 'f03_again')}) == 1


def test_writers_without_near_duplicates_write_the_folds_of_before(tmp_path):
    # no near-duplicates among these: the groups handed to the split are the given ones, unchanged
    kwargs = dict(classes='nucleus', dataset='t', converter='test', source='test', options={}, seed=2)
    samples = _segmentation_samples()[:20]
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for name, distance in (('on', NEAR_DUP_DISTANCE), ('off', None)):
        writer = DatasetWriter(tmp_path / name, near_dup_distance=distance, log=lambda _: None, **kwargs)
        for stem, image, stratum, group in samples:
            writer.add(stem, image, mask, group=group, stratum=stratum)
        writer.finalize()
    assert load_meta(tmp_path / 'on')['near_duplicates']['num_groups'] == 0
    assert load_meta(tmp_path / 'on')['groups'] == load_meta(tmp_path / 'off')['groups']
    assert read_splits(tmp_path / 'on') == read_splits(tmp_path / 'off')


def test_blank_images_are_no_near_duplicates_and_a_failed_split_says_why(tmp_path):
    kwargs = dict(classes='nucleus', dataset='t', converter='test', source='test', options={}, log=lambda _: None)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    writer = DatasetWriter(tmp_path / 'blank', **kwargs)
    for i in range(5):  # blank images of five colours: all hash to 0, yet they are not alike
        writer.add(f'blank{i}', np.full((SIZE, SIZE, 3), 40 * i, np.uint8), mask)
    writer.finalize()
    assert load_meta(tmp_path / 'blank')['near_duplicates']['num_groups'] == 0
    # five copies of one field leave a single group: the split is impossible, and the error says why
    writer = DatasetWriter(tmp_path / 'copies', **kwargs)
    for i in range(5):
        writer.add(f'copy{i}', _jpeg(_view(_field(4), i % 3, i // 3)), mask)
    with pytest.raises(DatasetError, match=r'cannot split 5 items in 1 groups.*Near-duplicate grouping \(dHash '
                                           r'distance <= 6\) joined 5 images.*--no-near-dup'):
        writer.finalize()


# ----------------------------------------------------------------------------- command lines


def _cli(name):
    spec = importlib.util.spec_from_file_location(f'cli_nd_{name}', ROOT / 'tools/dataset_converters' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# converter function each CLI calls, and the arguments that make it convert
CLIS = {'class_folders': ('convert_class_folders', ['src', '--out', 'o']),
        'make_synthetic': ('generate_synthetic_dataset', []),
        'wbc_zheng2018': ('convert_wbc_zheng2018', ['src']),
        'sn_am': ('convert_sn_am', ['imgs']),
        'coco_instances': ('convert_wbc_coco', ['wbc', 'src']),
        'all_idb1': ('convert_all_idb1', ['src']),
        'all_idb2': ('convert_all_idb2', ['src']),
        'c_nmc_2019': ('convert_c_nmc_2019', ['src'])}


@pytest.mark.parametrize('name', sorted(CLIS))
def test_every_converter_cli_passes_the_near_duplicate_option(name, monkeypatch):
    cli = _cli(name)
    function, args = CLIS[name]
    seen = []
    monkeypatch.setattr(cli, function, lambda *a, **kw: seen.append(kw.get('near_dup_distance', 'missing')))
    for verify in ('verify_splits', 'verify_classification_dataset', 'report_ready'):
        if hasattr(cli, verify):
            monkeypatch.setattr(cli, verify, lambda *a, **kw: None)
    for extra, expected in (([], NEAR_DUP_DISTANCE), (['--near-dup-distance', '3'], 3),
                            (['--near-dup-distance', '-1'], None), (['--no-near-dup'], None)):
        cli.main([*args, *extra])
        assert seen.pop() == expected, extra
    with pytest.raises(SystemExit):
        cli.parse_args([*args, '--near-dup-distance', '65'])


def test_class_folders_cli_records_the_option(tmp_path, capsys):
    src = tmp_path / 'src'
    planted = _write_tree(src)
    cli = _cli('class_folders')
    cli.main([str(src), '--out', str(tmp_path / 'o'), '--near-dup-distance', '0'])
    assert load_meta(tmp_path / 'o')['near_duplicates']['max_distance'] == 0
    cli.main([str(src), '--out', str(tmp_path / 'o'), '--no-near-dup'])
    assert load_meta(tmp_path / 'o')['near_duplicates']['max_distance'] is None
    cli.main([str(src), '--out', str(tmp_path / 'o')])
    out = capsys.readouterr().out
    assert f'near-duplicates (dHash distance <= {NEAR_DUP_DISTANCE}): 5 group(s)' in out
    assert load_meta(tmp_path / 'o')['near_duplicates']['groups'] == planted


# ----------------------------------------------------------------------------- the real B-ALL set


@pytest.mark.skipif(not REAL.is_dir(), reason=f'real B-ALL data (Aria et al. 2021) not at {REAL}')
def test_real_b_all_re_photographed_fields_stay_together(tmp_path):
    pairs = [('early_pre_b/WBC-Malignant-Early-154.jpg', 'early_pre_b/WBC-Malignant-Early-155.jpg'),
             ('benign/WBC-Benign-408.jpg', 'benign/WBC-Benign-411.jpg')]
    for a, b in pairs:  # the same field twice, shifted: near in dHash, not pixel-identical
        ha, hb = dhash(read_image(REAL / a)), dhash(read_image(REAL / b))
        assert hamming_distance(ha, hb) <= NEAR_DUP_DISTANCE
    meta = convert_class_folders(REAL, tmp_path / 'o', log=lambda _: None)
    groups = meta['near_duplicates']['groups']
    split = _split_of(tmp_path / 'o', 0)
    for a, b in pairs:
        assert any(a in g and b in g for g in groups), (a, b)
        assert meta['groups'][a] == meta['groups'][b] and split[a] == split[b], (a, b)
    # no fold-0 test image keeps a training image within the threshold
    hashes = {k: dhash(read_image(tmp_path / 'o/images' / k)) for k in split}
    train = np.array([hashes[k] for k, s in split.items() if s == 'train'], np.uint64)
    for k in (k for k, s in split.items() if s == 'test'):
        assert int(duplicates._popcount(train ^ np.uint64(hashes[k])).min()) > NEAR_DUP_DISTANCE, k
    verify_classification_dataset(tmp_path / 'o')
