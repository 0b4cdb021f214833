"""Whole-field benchmark pieces (hemaseg.field_eval) and `tools/field_eval.py build`."""
import json
import os.path as osp

import numpy as np
import pytest

from conftest import REPO_ROOT, run_tool
from hemaseg.data.io import read_image, read_mask
from hemaseg.field_eval import (build_composite_field, cell_cutout, nucleus_free_patches, score_field,
                                summarise)

TOOL = osp.join(REPO_ROOT, 'tools', 'field_eval.py')


def test_component_scores_by_hand():
    ref = np.zeros((40, 40), bool)
    ref[2:12, 2:12] = True        # nucleus A, 100 px: predicted over 60 px -> found
    ref[20:30, 20:30] = True      # nucleus B, 100 px: predicted over 40 px -> missed
    pred = np.zeros((40, 40), bool)
    pred[2:8, 2:12] = True        # 60 px, all on A
    pred[20:24, 20:30] = True     # 40 px on B
    pred[32:40, 0:10] = True      # 80 px on nothing: false positive
    s = score_field(pred, ref)
    assert (s.predicted_components, s.false_positives, s.reference_nuclei, s.found) == (3, 1, 2, 1)
    assert s.dice == pytest.approx(2 * 100 / (180 + 200))
    # a component with just under 10 % on the reference counts as false positive, at 10 % it does not
    pred2 = np.zeros((40, 40), bool)
    pred2[11:21, 11:12] = True    # 10 px: row 11 on A -> 1 of 10 = 10 %
    assert score_field(pred2, ref).false_positives == 0
    pred2[21, 11] = True          # 1 of 11 < 10 %
    assert score_field(pred2, ref).false_positives == 1
    empty = score_field(np.zeros((5, 5), bool), np.zeros((5, 5), bool))
    assert (empty.predicted_components, empty.reference_nuclei, empty.dice) == (0, 0, 1.0)
    total = summarise([s, empty])
    assert total['false_positives_per_field'] == 0.5 and total['recall'] == 0.5 and total['fields'] == 2
    with pytest.raises(ValueError, match='differ in size'):
        score_field(pred, ref[:5])


def test_background_patches_keep_away_from_the_nucleus():
    image = np.zeros((100, 100, 3), np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 1                          # equivalent diameter ~22.6 px
    image[..., 0] = np.arange(100)[:, None]         # rows readable from the patch
    image[..., 1] = np.arange(100)[None, :]
    patches = nucleus_free_patches(image, mask, patch=20, margin=0, stride=10)
    starts = {(int(p[0, 0, 0]), int(p[0, 0, 1])) for p in patches}
    assert all(not (y < 60 and y + 20 > 40 and x < 60 and x + 20 > 40) for y, x in starts)
    assert (0, 0) in starts and (30, 30) not in starts and len(starts) == 81 - 9
    # with a margin of 1 x the equivalent diameter (~23 px) nothing within it is cut
    big = np.zeros((160, 160, 3), np.uint8)
    big[..., 0], big[..., 1] = np.arange(160)[:, None], np.arange(160)[None, :]
    big_mask = np.zeros((160, 160), np.uint8)
    big_mask[70:90, 70:90] = 1
    near = nucleus_free_patches(big, big_mask, patch=20, margin=0, stride=10)
    far = nucleus_free_patches(big, big_mask, patch=20, margin=0, stride=10, margin_factor=1.0)
    for p in far:
        y, x = int(p[0, 0, 0]), int(p[0, 0, 1])
        assert y + 20 <= 70 - 22 or y >= 90 + 22 or x + 20 <= 70 - 22 or x >= 90 + 22
    assert 0 < len(far) < len(near)


def test_composite_field_truth_is_exactly_the_pasted_nuclei():
    rng = np.random.default_rng(0)
    image = np.full((60, 60, 3), 230, np.uint8)
    mask = np.zeros((60, 60), np.uint8)
    mask[25:35, 22:38] = 1
    image[mask == 1] = (80, 20, 120)
    rgb, nucleus, alpha = cell_cutout(image, mask)
    assert nucleus.sum() == 160 and (alpha[nucleus] == 1).all() and alpha.max() == 1 and alpha.min() == 0
    background = [np.full((16, 16, 3), 200, np.uint8)]
    field, truth, placed = build_composite_field(rng, [(rgb, nucleus, alpha)] * 4, background, (120, 160), 4,
                                                 scale_range=(1.0, 1.0))
    assert len(placed) == 4 and field.shape == (120, 160, 3)
    assert truth.sum() == 4 * 160
    np.testing.assert_array_equal(field[truth], np.tile([80, 20, 120], (truth.sum(), 1)))
    assert (field[~truth] != [80, 20, 120]).any(axis=1).all()   # no nucleus colour outside the truth
    again = build_composite_field(np.random.default_rng(0), [(rgb, nucleus, alpha)] * 4, background, (120, 160), 4,
                                  scale_range=(1.0, 1.0))
    np.testing.assert_array_equal(again[0], field)   # seeded


def test_build_cli_on_synthetic_crops(tmp_path):
    from hemaseg.data.synthetic import generate_synthetic_dataset
    data = tmp_path / 'data'
    generate_synthetic_dataset(str(data), num_images=20, size=96, seed=0, log=lambda _: None)
    out = tmp_path / 'fields'
    args = [TOOL, 'build', data, '--split', 'fold0_test', '--out', out, '--num-fields', '3', '--size', '192', '256',
            '--cells', '2', '3', '--patch', '16', '--margin', '4', '--margin-factor', '0.5']
    proc = run_tool(args)
    assert '3 fields written to' in proc.stdout and '[3/3] field_002' in proc.stdout
    record = json.loads((out / 'fields.json').read_text())
    stems = set((data / 'splits' / 'fold0_test.txt').read_text().split())
    for f in record['fields']:
        image, truth = read_image(out / 'images' / f'{f["name"]}.png'), read_mask(out / 'masks' / f'{f["name"]}.png')
        assert image.shape == (192, 256, 3) and set(np.unique(truth)) <= {0, 1}
        assert f['cells'] and all(c['source'] in stems for c in f['cells'])   # test-split cells only
        assert truth.any()
    assert read_image(out / 'backgrounds.png').ndim == 3
    proc2 = run_tool([a if a != out else tmp_path / 'again' for a in args])
    assert (read_image(tmp_path / 'again' / 'images' / 'field_001.png') == read_image(out / 'images' / 'field_001.png')).all()
    bad = run_tool([TOOL, 'build', data, '--split', 'fold9_test', '--out', tmp_path / 'x'], check=False)
    assert bad.returncode != 0 and 'fold9_test.txt does not exist' in bad.stderr and 'Traceback' not in bad.stderr
    assert proc2.returncode == 0


def test_false_positive_mask_and_overlay_match_the_scores():
    from hemaseg.field_eval import draw_field_overlay, false_positive_mask
    ref = np.zeros((60, 60), bool)
    ref[5:20, 5:20] = True
    pred = np.zeros((60, 60), bool)
    pred[6:18, 6:18] = True        # on the nucleus
    pred[40:50, 40:50] = True      # on nothing
    pred[30:33, 5:8] = True        # a second false positive, 9 px
    fp = false_positive_mask(pred, ref)
    assert fp.sum() == 100 + 9 and not fp[6:18, 6:18].any()
    assert score_field(pred, ref).false_positives == 2
    image = np.full((60, 60, 3), 200, np.uint8)
    overlay = draw_field_overlay(image, pred, ref, title='field')
    body = overlay[-60:]                       # under the title strip
    assert overlay.shape[0] > 60 and overlay.shape[1] == 60
    red = (body[..., 0] > 150) & (body[..., 1] < 130) & (body[..., 2] < 130)
    assert red[40:50, 40:50].mean() > 0.9 and not red[6:18, 6:18].any()


def test_score_and_figure_refuse_bad_input(tmp_path):
    config = tmp_path / 'c.py'
    config.write_text('x = 1\n')
    proc = run_tool([TOOL, 'score', config, config, tmp_path, '--reference', 'handcrafted', '--gate', 'both',
                     '--out', tmp_path / 'o'], check=False)
    assert proc.returncode != 0 and 'contains that mask by construction' in proc.stderr
    assert 'Traceback' not in proc.stderr
    proc = run_tool([TOOL, 'figure', tmp_path, '--out', tmp_path / 'f.png'], check=False)
    assert proc.returncode != 0 and 'has no overlays/ folder' in proc.stderr and 'Traceback' not in proc.stderr


def test_remove_small_regions_class_by_class():
    from hemaseg.field_eval import remove_small_regions
    labels = np.zeros((12, 12), np.uint8)
    labels[0:3, 0:3] = 1          # 9 px: kept at 9
    labels[5, 5] = 1              # 1 px: removed
    labels[7, 0:2] = 1            # 2 px: removed
    labels[9:12, 9:12] = 2        # another class, 9 px: kept
    labels[0, 11] = 2             # 1 px of class 2: removed
    out, removed = remove_small_regions(labels, 9)
    assert removed == 3 and out[5, 5] == 0 and out[0, 11] == 0 and (out[7, 0:2] == 0).all()
    assert (out[0:3, 0:3] == 1).all() and (out[9:12, 9:12] == 2).all()
    same, none = remove_small_regions(labels, 0)
    assert none == 0 and np.array_equal(same, labels)


def test_figure_puts_runs_side_by_side_with_the_field_first(tmp_path):
    from hemaseg.data.io import write_image
    fields = tmp_path / 'fields'
    write_image(fields / 'images' / 'f1.png', np.full((40, 60, 3), 90, np.uint8))
    runs = []
    for k, colour in enumerate((30, 200)):
        run = tmp_path / f'run{k}'
        write_image(run / 'overlays' / 'f1.png', np.full((50, 60, 3), colour, np.uint8))
        (run / 'summary.json').write_text(json.dumps({'fields_dir': str(fields)}))
        runs.append(f'{run}=model {k}')
    out = tmp_path / 'fig.png'
    proc = run_tool([TOOL, 'figure', *runs, '--show-image', '--fields', 'f1', '--out', out])
    sheet = read_image(out)
    assert '1 field(s) x 2 run(s)' in proc.stdout
    assert sheet.shape[1] == 3 * 60 + 2 * 4          # the field, then the two runs, 4 px gaps
    assert (sheet[-20:-10, 70:120] == 30).all() and (sheet[-20:-10, 140:190] == 200).all()
    bad = run_tool([TOOL, 'figure', *runs, '--fields', 'f2', '--out', out], check=False)
    assert bad.returncode != 0 and 'f2.png does not exist' in bad.stderr and 'Traceback' not in bad.stderr
