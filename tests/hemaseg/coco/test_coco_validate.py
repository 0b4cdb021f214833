"""CocoWriter output layout (hemaseg.data.coco_writer) and validate_coco's named errors
(hemaseg.data.coco_validate)."""
import json

import numpy as np
import pytest

from hemaseg.data.coco_validate import validate_coco
from hemaseg.data.coco_writer import CocoWriter
from hemaseg.data.io import DatasetError, write_image


def _square(h, w, y, x, s):
    m = np.zeros((h, w), bool)
    m[y:y + s, x:x + s] = True
    return m


def _write(root, **kwargs):
    """6 images of 40x50 with one or two squares, written by CocoWriter; returns its summary."""
    writer = CocoWriter(root, categories=['cell', 'nucleus'], dataset='toy', converter='test',
                        source='none', options={}, log=lambda _: None, **kwargs)
    for i in range(6):
        inst = [('cell', _square(40, 50, 5 + i, 5, 10))] + ([('nucleus', _square(40, 50, 20, 30, 6))] if i % 2 else [])
        writer.add(f'im{i}', np.full((40, 50, 3), 10 * i, np.uint8), inst, stratum='a' if i < 3 else 'b')
    return writer.finalize()


@pytest.fixture
def dataset(tmp_path):
    return tmp_path / 'ds', _write(tmp_path / 'ds')


def test_layout_and_ids(dataset):
    root, summary = dataset
    assert summary['instances'] == {'cell': 6, 'nucleus': 3}
    assert not (root / '.incomplete').exists() and (root / 'images/im0.png').is_file()
    full = json.loads((root / 'annotations/all.json').read_text())
    assert [c['name'] for c in full['categories']] == ['cell', 'nucleus']
    ids = {im['file_name']: im['id'] for im in full['images']}
    tests = []
    for k in range(3):
        for split in ('train', 'val', 'test'):
            part = json.loads((root / f'annotations/fold{k}_{split}.json').read_text())
            assert part['images'] and all(ids[im['file_name']] == im['id'] for im in part['images'])
            assert {a['image_id'] for a in part['annotations']} <= {im['id'] for im in part['images']}
            if split == 'test':
                tests += [im['file_name'] for im in part['images']]
            validate_coco(root / f'annotations/fold{k}_{split}.json', root / 'images')
    assert len(tests) == len(set(tests)) >= 3  # the three test sets are disjoint chunks
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['num_instances'] == {'cell': 6, 'nucleus': 3} and meta['strata']['im4'] == 'b'
    assert validate_coco(root / 'annotations/all.json', root / 'images') == {
        'images': 6, 'annotations': 9, 'per_category': {'cell': 6, 'nucleus': 3}}


def test_num_folds(dataset, tmp_path):
    root5, five = dataset
    three = _write(tmp_path / 'ds3', num_folds=3)
    names = [f'fold{k}_{split}.json' for k in range(5) for split in ('train', 'val', 'test')]
    assert sorted(p.name for p in (root5 / 'annotations').glob('fold*')) == sorted(names)
    assert sorted(p.name for p in (tmp_path / 'ds3/annotations').glob('fold*')) == sorted(names[:9])
    for name in names[:9]:  # the paper's three folds are folds 0-2 of the 5-fold rotation
        assert (tmp_path / 'ds3/annotations' / name).read_bytes() == (root5 / 'annotations' / name).read_bytes()
    assert three['folds'] == five['folds'][:3] and three['splits'] == five['splits'][:3]
    meta3, meta5 = (json.loads((r / 'meta.json').read_text()) for r in (tmp_path / 'ds3', root5))
    assert (meta3['folds'], meta5['folds']) == (3, 5) and meta3['splits'] == meta5['splits'][:3]
    for bad in (0, 6, 2.0, True):
        with pytest.raises(DatasetError, match='number of folds must be an integer from 1 to 5'):
            CocoWriter(tmp_path / 'bad', categories=['cell'], dataset='t', converter='t', source='', options={},
                       num_folds=bad)
    assert not (tmp_path / 'bad').exists()  # refused before the output folder is touched


def test_validation_names_every_problem(dataset):
    root, _ = dataset
    data = json.loads((root / 'annotations/all.json').read_text())
    anns = data['annotations']
    (root / 'images/im0.png').unlink()                                   # missing file
    write_image(root / 'images/im1.png', np.zeros((41, 50, 3), np.uint8))  # wrong size
    anns[0]['category_id'] = 7                                           # unknown category
    anns[1]['segmentation'] = [[1, 1, 5, 1]]                             # < 6 coordinates
    anns[2]['segmentation'] = [[0, 0, 80, 0, 80, 10, 0, 10]]             # outside the 50x40 image
    anns[3]['bbox'] = [0.0, 0.0, 3.0, 3.0]                               # does not match the segmentation
    anns[4]['area'] = 0                                                  # area 0
    anns[5]['segmentation'] = {'size': [40, 50], 'counts': 'P1'}         # malformed RLE
    anns.append(dict(anns[6], image_id=99))                              # unknown image, duplicate id
    bad = root / 'annotations/bad.json'
    bad.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as e:
        validate_coco(bad, root / 'images')
    msg = str(e.value)
    assert msg.startswith(f'invalid COCO file {bad} (10 problem(s))')
    for expected in ['duplicate annotations ids: [7]', 'annotation 7: image_id 99 is not an image id',
                     'image im0.png: image', 'does not exist',
                     'image im0.png: annotation 1: category_id 7 is not a category id',
                     'image im1.png: file is 50x41 but the json says 50x40',
                     'polygon 0 has 4 coordinates (< 6',
                     'polygon 0 spans x 0..80, y 0..10, outside the 50x40 image',
                     'does not match the segmentation\'s box',
                     'area is 0, expected > 0',
                     'RLE runs cover']:
        assert expected in msg, expected


def test_writer_refuses_foreign_folder(tmp_path):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x/keep.txt').write_text('mine')
    with pytest.raises(DatasetError, match='not empty'):
        CocoWriter(tmp_path / 'x', categories=['cell'], dataset='t', converter='t', source='', options={})
