"""COCO instance converters: LabelMe (ALL-IDB1 crops, BCCD padding), COCO re-export, Raabin, WBC, CLI."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hemaseg.data.coco_converters import (convert_coco, convert_labelme, convert_raabin, convert_wbc_coco,
                                          window_starts)
from hemaseg.data.coco_validate import validate_coco
from hemaseg.data.io import DatasetError, read_image
from hemaseg.data.rle import segmentation_to_rle
from conftest import REPO_ROOT

ROOT = Path(REPO_ROOT)
WBC_ROOT = ROOT.parent / 'shared/data/wbc_zheng2018'
H, W = 200, 300
QUIET = {'log': lambda _: None}


def _circle(cx, cy, r, n=32):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).round(2).tolist()


def _labelme_src(root: Path, extra: dict | None = None) -> Path:
    """Images a..e (300x200), each with a WBC at (100, 100) r 20 and an ignored RBC; ``extra`` adds WBCs."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in 'abcde':
        cv2.imwrite(str(root / f'{name}.bmp'), rng.integers(1, 256, (H, W, 3), dtype=np.uint8))
        shapes = [{'label': 'WBC', 'points': _circle(100, 100, 20), 'shape_type': 'polygon'},
                  {'label': 'rbc', 'points': _circle(250, 50, 15), 'shape_type': 'polygon'}]
        shapes += [{'label': 'wbc', 'points': _circle(*c), 'shape_type': 'polygon'} for c in (extra or {}).get(name, [])]
        (root / f'{name}.json').write_text(json.dumps({'shapes': shapes, 'imageHeight': H, 'imageWidth': W}))
    return root


def _decoded(json_path: Path) -> dict:
    """file_name -> list of (category name, mask)."""
    data = json.loads(json_path.read_text())
    cats = {c['id']: c['name'] for c in data['categories']}
    imgs = {im['id']: im for im in data['images']}
    out = {im['file_name']: [] for im in data['images']}
    for a in data['annotations']:
        im = imgs[a['image_id']]
        m = mask_utils.decode(segmentation_to_rle(a['segmentation'], im['height'], im['width'])).astype(bool)
        out[im['file_name']].append((cats[a['category_id']], m))
    return out


def test_window_starts():
    assert window_starts(2592, 512, 256) == [0, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2080]
    assert window_starts(1944, 512, 256) == [0, 256, 512, 768, 1024, 1280, 1432]
    assert window_starts(300, 512, 256) == [0] and window_starts(512, 512, 256) == [0]


def test_labelme_as_is_and_padded(tmp_path):
    src = _labelme_src(tmp_path / 'src')
    s = convert_labelme(src, tmp_path / 'plain', label_map={'wbc': 'wbc'}, **QUIET)
    assert s['num_images'] == 5 and s['instances'] == {'wbc': 5} and s['ignored'] == {'rbc': 5}
    masks = _decoded(tmp_path / 'plain/annotations/all.json')
    (cat, m), = masks['a.png']
    assert cat == 'wbc' and m.shape == (H, W) and 0 < m.sum() - np.pi * 400 < 2 * np.pi * 20  # fillPoly adds boundary pixels

    s = convert_labelme(src, tmp_path / 'pad', label_map={'wbc': 'wbc'}, pad_square=True, dataset='bccd', **QUIET)
    img = read_image(tmp_path / 'pad/images/a.png')
    assert img.shape == (W, W, 3) and (img[H:] == 0).all() and (img[:H] > 0).all()
    (_, padded), = _decoded(tmp_path / 'pad/annotations/all.json')['a.png']
    assert np.array_equal(padded[:H], m) and not padded[H:].any()  # coordinates unchanged
    meta = json.loads((tmp_path / 'pad/meta.json').read_text())
    assert meta['dataset'] == 'bccd' and 'zero-padded 300x200 -> 300x300' in meta['notes']['a'][0]


def test_labelme_sliding_window_crops(tmp_path):
    """Crop 128, stride 64 on 300x200: x starts 0, 64, 128, 172 and y starts 0, 64, 72.

    The WBC at (100, 100) r 20 (x, y 80..120) is whole in the windows x 0/64 x y 0/64/72: 6 crops.
    Image a also has a WBC at (150, 30) r 20 (whole in x 64/128, y 0: adds crop y0_x128) and one at
    (125, 180) r 10 (x 115..135): >= half visible in x 0 and x 64, < half in x 128, so it is dropped
    from the y64_x128 and y72_x128 windows, which then hold no WBC and are discarded.
    """
    src = _labelme_src(tmp_path / 'src', extra={'a': [(150, 30, 20), (125, 180, 10)]})
    s = convert_labelme(src, tmp_path / 'crops', label_map={'WBC': 'wbc'}, crop=128, stride=64, **QUIET)
    crops = sorted(p.stem for p in (tmp_path / 'crops/images').glob('a_*'))
    assert crops == ['a_y0_x0', 'a_y0_x128', 'a_y0_x64', 'a_y64_x0', 'a_y64_x64', 'a_y72_x0', 'a_y72_x64']
    assert s['num_images'] == 7 + 4 * 6
    meta = json.loads((tmp_path / 'crops/meta.json').read_text())
    assert meta['groups']['a_y72_x64'] == 'a' and meta['source_files']['a_y0_x128'] == 'a.bmp [y 0:128, x 128:256]'
    full = _decoded(tmp_path / 'crops/annotations/all.json')
    assert len(full['a_y64_x0.png']) == 2 and len(full['a_y0_x128.png']) == 1
    # crop content and masks are the source shifted by the window origin
    source = read_image(src / 'a.bmp')
    assert np.array_equal(read_image(tmp_path / 'crops/images/a_y64_x64.png'), source[64:192, 64:192])
    plain = convert_labelme(src, tmp_path / 'plain', label_map={'wbc': 'wbc'}, **QUIET)
    assert plain['instances'] == {'wbc': 7}
    whole = {m[100, 100]: m for _, m in _decoded(tmp_path / 'plain/annotations/all.json')['a.png']}[True]
    cropped = [m for _, m in full['a_y64_x64.png'] if m[36, 36]]
    assert len(cropped) == 1 and np.array_equal(cropped[0], whole[64:192, 64:192])


def test_coco_reexport(tmp_path):
    src = _labelme_src(tmp_path / 'src')
    convert_labelme(src, tmp_path / 'lm', **QUIET)  # categories WBC, rbc
    data = json.loads((tmp_path / 'lm/annotations/all.json').read_text())
    crowd = dict(data['annotations'][0], id=999, iscrowd=1)
    data['annotations'].append(crowd)
    (tmp_path / 'in.json').write_text(json.dumps(data))
    s = convert_coco(tmp_path / 'in.json', tmp_path / 'lm/images', tmp_path / 'out', category_map={'wbc': 'cell'},
                     segm_format='rle', **QUIET)
    assert s['instances'] == {'cell': 5} and s['ignored'] == {'rbc': 5}
    assert any('crowd annotation 999' in n for n in s['notes']['a'])
    before, after = _decoded(tmp_path / 'lm/annotations/all.json'), _decoded(tmp_path / 'out/annotations/all.json')
    assert np.array_equal(dict(before['a.png'])['WBC'], after['a.png'][0][1])
    assert isinstance(json.loads((tmp_path / 'out/annotations/all.json').read_text())['annotations'][0]['segmentation'],
                      dict)

    data['annotations'][1]['segmentation'] = [[1, 1, 2, 2]]
    (tmp_path / 'bad.json').write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r'image a.png: annotation 2: polygon 0 has 4 coordinates'):
        convert_coco(tmp_path / 'bad.json', tmp_path / 'lm/images', tmp_path / 'out2', **QUIET)


def _raabin_src(root: Path, levels=(0, 128, 255)) -> tuple[Path, Path]:
    """Two classes x 3 cells, 80x80; cell 'Lymphocyte/c1' has a stray blob (two components)."""
    bg, cyto, nuc = levels
    for cls in ('Lymphocyte', 'Neutrophil'):
        for i in range(3):
            (root / 'images' / cls).mkdir(parents=True, exist_ok=True)
            (root / 'masks' / cls).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / 'images' / cls / f'c{i}.jpg'), np.full((80, 80, 3), 200, np.uint8))
            m = np.full((80, 80), bg, np.uint8)
            cv2.circle(m, (40, 40), 25, cyto, -1)
            cv2.circle(m, (40, 40), 12, nuc, -1)
            if cls == 'Lymphocyte' and i == 1:
                m[2:5, 2:5] = cyto
            cv2.imwrite(str(root / 'masks' / cls / f'c{i}.png'), m)
    return root / 'images', root / 'masks'


def test_raabin(tmp_path):
    images, masks = _raabin_src(tmp_path / 'src', levels=(0, 1, 2))
    s = convert_raabin(images, masks, tmp_path / 'out', values='0:background,1:cytoplasm,2:nucleus',
                       with_nucleus=True, **QUIET)
    assert s['num_images'] == 6 and s['instances'] == {'cell': 6, 'nucleus': 6}
    assert s['notes']['Lymphocyte_c1'] == ['2 connected components in the mask; kept the largest (1961 px), '
                                           'dropped 9 px']
    meta = json.loads((tmp_path / 'out/meta.json').read_text())
    assert meta['strata']['Neutrophil_c2'] == 'Neutrophil' and meta['categories'] == ['cell', 'nucleus']
    cell, nucleus = (m for _, m in _decoded(tmp_path / 'out/annotations/all.json')['Lymphocyte_c1.png'])
    assert cell.sum() == 1961 and not cell[3, 3] and (nucleus <= cell).all() and 400 < nucleus.sum() < 500

    with pytest.raises(DatasetError, match=r'unexpected values 1 \(.*snap tolerance 0'):
        convert_raabin(images, masks, tmp_path / 'o2', **QUIET)  # default 0/128/255 coding does not fit
    (masks / 'Neutrophil/c0.png').unlink()
    with pytest.raises(DatasetError, match='has no mask'):
        convert_raabin(images, masks, tmp_path / 'o3', values='0:background,1:cytoplasm,2:nucleus', **QUIET)


def test_folds_option_keeps_the_first_folds_of_the_rotation(tmp_path):
    images, masks = _raabin_src(tmp_path / 'src')
    five = convert_raabin(images, masks, tmp_path / 'five', **QUIET)
    three = convert_raabin(images, masks, tmp_path / 'three', num_folds=3, **QUIET)
    ann5, ann3 = tmp_path / 'five/annotations', tmp_path / 'three/annotations'
    names = [f'fold{k}_{split}.json' for k in range(5) for split in ('train', 'val', 'test')]
    assert sorted(p.name for p in ann5.glob('fold*.json')) == sorted(names)
    assert sorted(p.name for p in ann3.glob('fold*.json')) == sorted(names[:9])
    for name in names[:9]:  # the paper's 3 folds are folds 0-2 of the rotation, byte for byte
        assert (ann3 / name).read_bytes() == (ann5 / name).read_bytes()
    meta3, meta5 = (json.loads((tmp_path / d / 'meta.json').read_text()) for d in ('three', 'five'))
    assert (meta3['folds'], len(meta3['splits']), meta5['folds'], len(meta5['splits'])) == (3, 3, 5, 5)
    assert meta3['splits'] == meta5['splits'][:3]
    assert three['folds'] == five['folds'][:3] and len(three['splits']) == 3
    assert not (tmp_path / 'three/.incomplete').exists()
    # 5 folds: every image is in exactly one test split
    tested = [stem for fold in five['folds'] for stem in fold['test']]
    assert sorted(tested) == sorted(five['folds'][0]['train'] + five['folds'][0]['val'] + five['folds'][0]['test'])
    with pytest.raises(DatasetError, match='number of folds must be an integer from 1 to 5'):
        convert_raabin(images, masks, tmp_path / 'six', num_folds=6, **QUIET)
    assert not (tmp_path / 'six').exists()  # refused before the output folder is touched


def _cli():
    spec = importlib.util.spec_from_file_location('coco_instances_cli', ROOT / 'tools/dataset_converters/coco_instances.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(tmp_path, capsys):
    cli = _cli()
    images, masks = _raabin_src(tmp_path / 'src')
    cli.main(['raabin', str(images), str(masks), '--out', str(tmp_path / 'r'), '--segm-format', 'rle'])
    out = capsys.readouterr().out
    assert '6 images; instances: cell 6' in out and 'fold4: train' in out and 'dataset ready' in out
    cli.main(['raabin', str(images), str(masks), '--out', str(tmp_path / 'r3'), '--folds', '3'])
    out = capsys.readouterr().out  # the summary lists the folds written: 0-2
    assert 'fold2: train' in out and 'fold3:' not in out
    assert json.loads((tmp_path / 'r3/meta.json').read_text())['folds'] == 3
    assert not (tmp_path / 'r3/annotations/fold3_test.json').exists()
    cli.main(['validate', str(tmp_path / 'r/annotations/all.json'), str(tmp_path / 'r/annotations/fold1_val.json')])
    assert 'fold1_val.json: valid;' in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli.run_cli(cli.main, ['validate', str(tmp_path / 'r/annotations/all.json'), '--images', str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('error: invalid COCO file') and 'image Lymphocyte_c0.png: image' in err

    src = _labelme_src(tmp_path / 'lm', extra={'a': [(150, 30, 20), (125, 180, 10)]})
    cli.main(['labelme', str(src), '--map', 'wbc=wbc', '--crop', '128', '--out', str(tmp_path / 'crops')])  # stride 64
    assert '31 images; instances: wbc' in capsys.readouterr().out
    cli.main(['coco', str(tmp_path / 'crops/annotations/all.json'), str(tmp_path / 'crops/images'), '--pad-square',
              '--dataset', 'again', '--out', str(tmp_path / 'again')])
    assert json.loads((tmp_path / 'again/meta.json').read_text())['num_images'] == 31


@pytest.mark.skipif(not WBC_ROOT.is_dir(), reason='WBC dataset (Zheng 2018) not available')
def test_real_wbc(tmp_path):
    logs = []
    s = convert_wbc_coco(WBC_ROOT, tmp_path / 'wbc', log=logs.append)
    assert s['num_images'] == 400 and s['instances'] == {'cell': 400}
    assert len(s['splits']) == 5  # default: the 5-fold rotation
    for k in range(5):
        sizes = {split: s['splits'][k][split]['images'] for split in ('train', 'val', 'test')}
        assert sizes == {'train': 240, 'val': 80, 'test': 80}
        assert (tmp_path / f'wbc/annotations/fold{k}_test.json').is_file()
    assert set(s['repaired_pixels']) == {'d2_034', 'd2_035', 'd2_047', 'd2_050', 'd2_076'}
    assert validate_coco(tmp_path / 'wbc/annotations/fold0_test.json', tmp_path / 'wbc/images')['annotations'] == 80
    assert any('d2_034: snapped' in line for line in logs)
