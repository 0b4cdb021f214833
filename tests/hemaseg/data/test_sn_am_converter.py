"""SN-AM crop converter on a fixture in the accepted input formats (LabelMe JSON, instance PNG)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemaseg.data.io import DatasetError, read_image, read_mask
from hemaseg.data.layout import load_meta
from hemaseg.data.sn_am import convert_sn_am
from hemaseg.data.splits import verify_splits

H, W = 500, 600


def _ellipse(cx, cy, rx, ry, n=24):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1).round(2).tolist()


# per image: nucleus centres (x, y); image 'b' has one at the left border, 'a' two close together
NUCLEI = {'a': [(300, 250), (360, 250)], 'b': [(25, 240), (400, 100)], 'c': [(150, 150)], 'd': [(450, 400)],
          'e': [(300, 300), (100, 400)]}


def _labelme(nuclei, extra_shapes=()):
    shapes = [{'label': 'cell', 'points': _ellipse(x, y, 40, 40), 'shape_type': 'polygon'} for x, y in nuclei]
    shapes += [{'label': 'nucleus', 'points': _ellipse(x, y, 20, 15), 'shape_type': 'polygon'} for x, y in nuclei]
    return {'version': '5.0.1', 'shapes': shapes + list(extra_shapes), 'imageHeight': H, 'imageWidth': W}


def _make_src(root: Path, names='abcde', unannotated=('z',)):
    root.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = {}
    for name in list(names) + list(unannotated):
        img = rng.integers(1, 256, (H, W, 3), dtype=np.uint8)  # never 0, so padding is recognisable
        cv2.imwrite(str(root / f'{name}.bmp'), img)
        images[name] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if name in NUCLEI:
            (root / f'{name}.json').write_text(json.dumps(_labelme(NUCLEI[name])))
    return images


def _centroid(mask):
    ys, xs = np.nonzero(mask)
    return ys.mean(), xs.mean()


def test_labelme_crops(tmp_path):
    images = _make_src(tmp_path / 'src')
    logs = []
    summary = convert_sn_am(tmp_path / 'src', tmp_path / 'out', log=logs.append)
    out = tmp_path / 'out'
    assert summary['num_crops'] == 8 and summary['unannotated'] == ['z.bmp']
    assert summary['ignored_shapes'] == {'cell': 8}
    assert any('z.bmp has no annotation' in line for line in logs)
    meta = load_meta(out)
    assert meta['groups']['b_c1'] == 'b' and meta['num_images'] == 8 and meta['classes'] == ['background', 'nucleus']
    assert verify_splits(out)['num_images'] == 8

    # every crop is 350x350 with its nucleus centred
    for stem in meta['groups']:
        mask = read_mask(out / 'masks' / f'{stem}.png')
        assert mask.shape == (350, 350) and set(np.unique(mask)) == {0, 1}
        cy, cx = _centroid(mask)
        assert abs(cy - 175) < 1.5 and abs(cx - 175) < 1.5

    # border nucleus of 'b' at x=25: black padding on the left, pixels copied with the right offset
    crop = read_image(out / 'images/b_c0.png')
    assert (crop[:, :175 - 25 - 1] == 0).all() and (crop[:, 175 - 25 + 1:] > 0).all()
    assert np.array_equal(crop[0, 175 - 25:], images['b'][240 - 175, :350 - (175 - 25)])

    # the neighbouring nucleus of 'a' (60 px away) is in the crop but not labelled
    mask = read_mask(out / 'masks/a_c0.png')
    assert mask[175, 175] == 1 and mask[175, 175 + 60] == 0


def test_keep_other_nuclei(tmp_path):
    _make_src(tmp_path / 'src')
    convert_sn_am(tmp_path / 'src', tmp_path / 'out', keep_other_nuclei=True, crop_size=200, log=lambda _: None)
    mask = read_mask(tmp_path / 'out/masks/a_c0.png')
    assert mask.shape == (200, 200) and mask[100, 100] == 1 and mask[100, 160] == 1


def test_instance_mask_annotations(tmp_path):
    src, ann = tmp_path / 'img', tmp_path / 'ann'
    _make_src(src, unannotated=())
    ann.mkdir()
    for name, nuclei in NUCLEI.items():
        (src / f'{name}.json').unlink()
        inst = np.zeros((H, W), np.uint16)
        for k, (x, y) in enumerate(nuclei, 1):
            cv2.ellipse(inst, (x, y), (20, 15), 0, 0, 360, k, -1)
        cv2.imwrite(str(ann / f'{name}.png'), inst)
    summary = convert_sn_am(src, tmp_path / 'out', annotations=ann, log=lambda _: None)
    assert summary['num_crops'] == 8
    mask = read_mask(tmp_path / 'out/masks/e_c1.png')
    assert abs(mask.sum() - np.pi * 20 * 15) < 60


@pytest.mark.parametrize('shape, problem', [
    ({'label': 'nucleus', 'points': [[1, 1], [5, 5]]}, 'at least 3'),
    ({'label': 'nucleus', 'points': [[1, 1], [50, 1], [50, 600]]}, 'outside the 600x500 image'),
    ({'label': 'nucleus', 'points': [[1, 1], [5, 5], [9, 9]]}, 'zero area'),
    ({'label': 'Nucleus', 'points': [[1, 1], [5, 5]], 'shape_type': 'circle'}, "shape_type 'circle'"),
])
def test_bad_polygons(tmp_path, shape, problem):
    _make_src(tmp_path / 'src')
    (tmp_path / 'src/c.json').write_text(json.dumps(_labelme(NUCLEI['c'], [shape])))
    with pytest.raises(DatasetError, match=problem) as e:
        convert_sn_am(tmp_path / 'src', tmp_path / 'out', log=lambda _: None)
    assert 'c.json' in str(e.value)


def test_input_errors(tmp_path):
    _make_src(tmp_path / 'src')
    (tmp_path / 'src/ghost.json').write_text(json.dumps(_labelme([(10, 10)])))
    with pytest.raises(DatasetError, match='have no image.*ghost.json'):
        convert_sn_am(tmp_path / 'src', tmp_path / 'o', log=lambda _: None)

    _make_src(tmp_path / 'few', names='abc')
    with pytest.raises(DatasetError, match='in 3 groups.*at least 5 groups'):
        convert_sn_am(tmp_path / 'few', tmp_path / 'o', log=lambda _: None)

    _make_src(tmp_path / 'size')
    doc = _labelme(NUCLEI['a'])
    doc['imageWidth'] = 640
    (tmp_path / 'size/a.json').write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match='a.json is for a 640x500 image'):
        convert_sn_am(tmp_path / 'size', tmp_path / 'o', log=lambda _: None)


def test_truncated_nucleus_and_empty_annotation_are_reported(tmp_path):
    _make_src(tmp_path / 'src', unannotated=())
    (tmp_path / 'src/d.json').write_text(json.dumps({'shapes': [], 'imageHeight': H, 'imageWidth': W}))
    _make_src(tmp_path / 'src2', names='f', unannotated=())  # a sixth image, so 5 groups remain
    (tmp_path / 'src2/f.bmp').rename(tmp_path / 'src/f.bmp')
    (tmp_path / 'src/f.json').write_text(json.dumps(_labelme([(200, 200)])))
    logs = []
    summary = convert_sn_am(tmp_path / 'src', tmp_path / 'out', crop_size=24, log=logs.append)
    assert summary['no_nuclei'] == ['d.json'] and 'd' not in summary['crops_per_image']
    assert len(summary['truncated']) == summary['num_crops'] == 8  # 40x30 nuclei in 24x24 crops
    assert any('larger than the crop' in line for line in logs)
