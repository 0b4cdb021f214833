"""6:2:2 k-fold splits (hemaseg.data.splits): the 5-fold rotation and the paper's 3 folds."""
import json
from collections import Counter

import numpy as np
import pytest

from hemaseg.data.io import DatasetError, write_image, write_mask
from hemaseg.data.splits import make_chunks, make_folds, read_splits, verify_splits, write_splits

STEMS = [f's{i:03d}' for i in range(127)]


def test_folds_are_622_and_test_sets_disjoint():
    folds = make_folds(STEMS, seed=0)
    assert len(folds) == 5
    for f in folds:
        sizes = [len(f[n]) for n in ('train', 'val', 'test')]
        assert sum(sizes) == 127 and sorted(sum(f.values(), [])) == STEMS
        assert sizes[1] in (25, 26) and sizes[2] in (25, 26)
        assert f['test'] == sorted(f['test'])
    # val of fold k is the test of fold k+1 (chunk k+1), and the last fold validates on chunk 0
    for k in range(5):
        assert folds[k]['val'] == folds[(k + 1) % 5]['test']


def test_five_fold_rotation_tests_every_stem_exactly_once():
    groups = {s: f'img{i % 30}' for i, s in enumerate(STEMS)}
    for kwargs in ({}, {'groups': groups}, {'strata': {s: int(s[1:]) % 4 for s in STEMS}}):
        folds = make_folds(STEMS, seed=1, **kwargs)
        for split in ('test', 'val'):
            counts = Counter(s for f in folds for s in f[split])
            assert sorted(counts) == STEMS and set(counts.values()) == {1}, (split, kwargs)
        for f in folds:  # every fold trains on the three remaining chunks
            assert sorted(f['train']) == sorted(set(STEMS) - set(f['val']) - set(f['test']))


def test_paper_three_folds_are_the_first_three_of_the_rotation():
    three, five = make_folds(STEMS, seed=2, num_folds=3), make_folds(STEMS, seed=2)
    assert three == five[:3]
    tested = {s for f in three for s in f['test']}
    assert len(tested) in (76, 77) and len(set(STEMS) - tested) in (50, 51)  # 2 of 5 chunks never tested
    for bad in (0, 6, 2.5, True):
        with pytest.raises(DatasetError, match='number of folds must be an integer from 1 to 5'):
            make_folds(STEMS, num_folds=bad)


def test_deterministic_and_seed_dependent():
    assert make_folds(STEMS, seed=3) == make_folds(list(reversed(STEMS)), seed=3)
    assert make_folds(STEMS, seed=3) != make_folds(STEMS, seed=4)
    # pinned: the split must not change across machines or NumPy versions (PCG64 is stable)
    assert make_chunks([f'x{i}' for i in range(10)], seed=0)[0] == ['x0', 'x3']


def test_groups_never_straddle_chunks():
    groups = {s: f'img{i % 30}' for i, s in enumerate(STEMS)}  # 127 crops from 30 images
    chunks = make_chunks(STEMS, groups=groups)
    where = {}
    for c, chunk in enumerate(chunks):
        for s in chunk:
            assert where.setdefault(groups[s], c) == c
    sizes = [len(c) for c in chunks]
    assert max(sizes) - min(sizes) <= 5  # greedy balance, groups have 4-5 items


def test_strata_keep_ratio():
    stems = [f'd1_{i:03d}' for i in range(300)] + [f'd2_{i:03d}' for i in range(100)]
    strata = {s: s[:2] for s in stems}
    for chunk in make_chunks(stems, strata=strata):
        assert Counter(s[:2] for s in chunk) == {'d1': 60, 'd2': 20}
    # uneven strata: extras are spread, not all put in chunk 0
    stems = [f'a{i}' for i in range(7)] + [f'b{i}' for i in range(6)]
    sizes = sorted(len(c) for c in make_chunks(stems, strata={s: s[0] for s in stems}))
    assert sizes == [2, 2, 3, 3, 3]


def test_too_few_items_is_clear_error():
    with pytest.raises(DatasetError, match=r'cannot split 4 items.*at least 5 items'):
        make_folds(['a', 'b', 'c', 'd'])
    with pytest.raises(DatasetError, match=r'cannot split 9 items in 3 groups.*at least 5 groups'):
        make_folds([f's{i}' for i in range(9)], groups={f's{i}': i % 3 for i in range(9)})
    with pytest.raises(DatasetError, match='duplicate'):
        make_folds(['a', 'a', 'b', 'c', 'd', 'e'])
    with pytest.raises(DatasetError, match='mixes strata'):
        make_chunks(list('abcdef'), groups={s: 0 if s < 'c' else s for s in 'abcdef'},
                    strata={s: s for s in 'abcdef'})


def _dataset(tmp_path, n=10):
    stems = [f'im{i}' for i in range(n)]
    for s in stems:
        write_image(tmp_path / 'images' / f'{s}.png', np.zeros((2, 2, 3), np.uint8))
        write_mask(tmp_path / 'masks' / f'{s}.png', np.zeros((2, 2), np.uint8))
    folds = make_folds(stems)
    write_splits(tmp_path, stems, folds)
    return stems, folds


def test_write_read_verify_roundtrip(tmp_path):
    stems, folds = _dataset(tmp_path)
    assert read_splits(tmp_path) == (stems, folds)
    assert (tmp_path / 'splits/fold2_test.txt').read_text() == ''.join(f'{s}\n' for s in folds[2]['test'])
    assert verify_splits(tmp_path) == {'num_images': 10, 'folds': [{'train': 6, 'val': 2, 'test': 2}] * 5}


def test_verify_detects_fold_count_mismatch(tmp_path):
    _dataset(tmp_path)
    (tmp_path / 'meta.json').write_text(json.dumps({'folds': 3}))
    with pytest.raises(DatasetError, match='says folds = 3 but splits/ holds 5'):
        verify_splits(tmp_path)


def test_verify_detects_problems(tmp_path):
    stems, folds = _dataset(tmp_path)
    (tmp_path / 'masks' / 'im3.png').unlink()
    write_image(tmp_path / 'images' / 'stray.png', np.zeros((2, 2, 3), np.uint8))
    (tmp_path / 'splits' / 'fold1_val.txt').write_text(folds[1]['val'][0] + '\n' + folds[1]['test'][0] + '\n')
    (tmp_path / 'splits' / 'fold0_test.txt').write_text('')
    with pytest.raises(DatasetError) as e:
        verify_splits(tmp_path)
    msg = str(e.value)
    assert 'no masks/<stem>.png: im3' in msg
    assert 'not listed in splits/all.txt: stray' in msg
    assert f'stem {folds[1]["test"][0]} is in both val and test' in msg
    assert 'fold0_test.txt is empty' in msg


def test_verify_detects_group_leakage(tmp_path):
    stems, folds = _dataset(tmp_path)
    a, b = folds[0]['train'][0], folds[0]['test'][0]
    (tmp_path / 'meta.json').write_text(json.dumps({'groups': {a: 'g', b: 'g'}}))
    with pytest.raises(DatasetError, match='group g is in both'):
        verify_splits(tmp_path)
