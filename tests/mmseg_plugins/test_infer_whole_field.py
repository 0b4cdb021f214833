"""Scale-aware whole-field inference of tools/infer.py on a field tiled from synthetic cells.

A tiny MSFF-SegNeXt (tests/configs/msff_tiny.py) is trained on synthetic cell crops resized up
to the network input as the WBC configs do (48 px crops -> 64, as WBC's 120 px crops -> 128) for
80 iterations (class-weighted loss, so that so few iterations learn the nucleus).
Then 12 held-out crops are segmented one by one (single-crop mode, the training setting), and
the same cells tiled 3x4 into one 144x192 field are segmented as a whole field (rescaled by
64/48, sliding 64x64 windows, mapped back). The per-cell Dice of the field must stay close to
the per-crop Dice; the old behaviour (the whole field squeezed into one 64x64 input) must be
clearly worse, which is what makes the check able to fail.
"""
import os.path as osp
import re
import time

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')

from conftest import REPO_ROOT, run_tool  # noqa: E402
from hemaseg.data.io import write_image  # noqa: E402
from hemaseg.data.synthetic import generate_synthetic_dataset, render_cell_crop  # noqa: E402

CROP, INPUT = 48, 64        # source pixels of a training crop, network input
ROWS, COLS = 3, 4
ITERS = 80
TINY = osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py')

CONFIG = """
_base_ = [{base!r}]
img_scale = ({size}, {size})
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={root!r}, ann_file='splits/fold0_train.txt', pipeline=train_pipeline))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(data_root={root!r}, ann_file='splits/fold0_test.txt', pipeline=test_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=10, end={iters})
]
optim_wrapper = dict(optimizer=dict(lr=5e-3))
# The nucleus is ~7 % of the pixels: weighted so that a few dozen iterations learn it.
model = dict(decode_head=dict(loss_decode=dict(class_weight=[1.0, 4.0])))
default_hooks = dict(checkpoint=dict(interval={iters}, save_best=None, max_keep_ckpts=1),
                     logger=dict(interval=20), visualization=dict(draw=False))
inference = dict(source_crop_size=({crop}, {crop}), max_crop_size=({crop}, {crop}))
"""


def run(args, timeout=600):
    t0 = time.perf_counter()
    proc = run_tool(args, timeout=timeout)
    print(f'{osp.basename(args[0])}: {time.perf_counter() - t0:.1f} s')
    return proc


def dice(pred: np.ndarray, gt: np.ndarray) -> float:
    total = int(pred.sum() + gt.sum())
    return 1.0 if total == 0 else 2.0 * int((pred & gt).sum()) / total


def tile(images):
    return np.concatenate([np.concatenate(images[r * COLS:(r + 1) * COLS], axis=1) for r in range(ROWS)], axis=0)


def cells(field: np.ndarray):
    return [field[r * CROP:(r + 1) * CROP, c * CROP:(c + 1) * CROP] for r in range(ROWS) for c in range(COLS)]


@pytest.fixture(scope='module')
def whole_field(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('whole_field')
    data = tmp / 'data'
    generate_synthetic_dataset(str(data), num_images=40, size=CROP, seed=0, log=lambda _: None)
    config = tmp / 'msff_tiny_48to64.py'
    config.write_text(CONFIG.format(base=TINY, size=INPUT, root=str(data), iters=ITERS, crop=CROP))
    work = tmp / 'work'
    t0 = time.perf_counter()
    run([osp.join(REPO_ROOT, 'tools', 'train.py'), str(config), '--work-dir', str(work)])
    train_s = time.perf_counter() - t0
    checkpoint = str(work / f'iter_{ITERS}.pth')

    # 12 held-out cells (another seed than the training crops), one file each, and two fields
    # tiled from them in different orders: same name field.png in two folders.
    crops, masks = [], []
    for child in np.random.SeedSequence(2024).spawn(ROWS * COLS):
        image, nucleus, _ = render_cell_crop(np.random.default_rng(child), CROP)
        crops.append(image)
        masks.append(nucleus)
    for k, image in enumerate(crops):
        write_image(tmp / 'crops' / f'cell_{k:02d}.png', image)
    orders = {'a': list(range(ROWS * COLS)), 'b': list(range(ROWS * COLS))[::-1]}
    for name, order in orders.items():
        write_image(tmp / 'fields' / name / 'field.png', tile([crops[i] for i in order]))
    out = tmp / 'out'
    t0 = time.perf_counter()
    proc = run([osp.join(REPO_ROOT, 'tools', 'infer.py'), str(config), checkpoint, str(tmp / 'crops'),
                str(tmp / 'fields' / 'a' / 'field.png'), str(tmp / 'fields' / 'b' / 'field.png'), '--out', str(out)])
    infer_s = time.perf_counter() - t0
    # The old behaviour, in this process: the field resized to one network input.
    from mmengine.config import Config

    from mmseg_plugins.apis import SINGLE, Segmenter
    import torch
    segmenter = Segmenter(Config.fromfile(str(config)), checkpoint)
    torch.manual_seed(0)  # the Hamburger's random NMF bases
    squeezed, old_what = segmenter(tile(crops), SINGLE)

    def read(path):
        m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert m is not None, path
        return m == 1

    crop_dice = [dice(read(out / 'masks' / f'cell_{k:02d}.png'), masks[k]) for k in range(ROWS * COLS)]
    field_dice = {name: [dice(p, masks[i]) for p, i in zip(cells(read(out / 'masks' / name / 'field.png')), order)]
                  for name, order in orders.items()}
    old_dice = [dice(p, m) for p, m in zip(cells(squeezed == 1), masks)]
    summary = (f'train {ITERS} it: {train_s:.1f} s, infer (12 crops + 2 fields): {infer_s:.1f} s; mean Dice per cell: '
               f'crops {np.mean(crop_dice):.4f}, whole field a {np.mean(field_dice["a"]):.4f}, '
               f'b {np.mean(field_dice["b"]):.4f}, field squeezed into one input {np.mean(old_dice):.4f}')
    print(summary)
    return dict(proc=proc, old_what=old_what, segmenter=segmenter, crops=crops, crop=crop_dice, field=field_dice,
                old=old_dice, out=out, tmp=tmp, summary=summary)


def test_whole_field_dice_matches_single_crops_and_beats_squeezing(whole_field):
    crop = np.mean(whole_field['crop'])
    assert crop > 0.75, f'the tiny model did not learn the nucleus: {whole_field["summary"]}'
    for name, scores in whole_field['field'].items():
        assert np.mean(scores) >= crop - 0.05, f'field {name}: {whole_field["summary"]}'
    assert np.mean(whole_field['old']) < crop - 0.2, whole_field['summary']


def test_modes_and_scale_are_reported(whole_field):
    out = whole_field['proc'].stdout
    crop_line = next(line for line in out.splitlines() if 'cell_00.png' in line and line.startswith('['))
    assert f'single-crop: {CROP}x{CROP} resized to {INPUT}x{INPUT}' in crop_line
    field_line = next(line for line in out.splitlines()
                      if line.startswith('[') and 'a/field.png -> a/field.png' in line)
    h, w = ROWS * CROP, COLS * CROP
    assert (f'whole-field: {h}x{w} rescaled by 1.333 (training crops of {CROP}x{CROP} px resized to '
            f'{INPUT}x{INPUT}) to {h * INPUT // CROP}x{w * INPUT // CROP}, sliding {INPUT}x{INPUT} windows with '
            'stride 43x43') in field_line
    assert f'mapped back to {h}x{w}' in field_line
    assert whole_field['old_what'] == f'single-crop: {h}x{w} resized to {INPUT}x{INPUT} (the network input)'


def test_same_stem_fields_are_written_separately(whole_field):
    out, proc = whole_field['out'], whole_field['proc'].stdout
    assert 'share a file stem' in proc
    a = cv2.imread(str(out / 'masks' / 'a' / 'field.png'), cv2.IMREAD_UNCHANGED)
    b = cv2.imread(str(out / 'masks' / 'b' / 'field.png'), cv2.IMREAD_UNCHANGED)
    assert a.shape == b.shape == (ROWS * CROP, COLS * CROP)
    assert not np.array_equal(a, b)  # different arrangements of the cells: nothing overwritten
    assert (out / 'overlays' / 'a' / 'field.png').is_file() and (out / 'overlays' / 'b' / 'field.png').is_file()
    assert not (out / 'masks' / 'field.png').exists()
    assert len(list((out / 'masks').glob('cell_*.png'))) == ROWS * COLS


def test_scale_option_overrides_the_config(whole_field):
    from mmengine.config import Config

    from mmseg_plugins.apis import whole_field_settings
    cfg = Config.fromfile(str(whole_field['tmp'] / 'msff_tiny_48to64.py'))
    s = whole_field_settings(cfg)
    assert s['scale'] == pytest.approx((INPUT / CROP, INPUT / CROP))
    assert s['crop_size'] == (INPUT, INPUT) and s['stride'] == (43, 43) and s['max_crop_size'] == (CROP, CROP)
    assert whole_field_settings(cfg, scale=0.5)['scale'] == (0.5, 0.5)
    cfg.inference = None
    s = whole_field_settings(cfg)
    assert s['scale'] == (1.0, 1.0) and 'assumed trained at scale 1' in s['scale_source']
    # The repository's configs: WBC 120 px crops -> 128 / 256, synthetic 128 -> 128.
    wbc = whole_field_settings(Config.fromfile(osp.join(
        REPO_ROOT, 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_wbc-128x128.py')))
    assert wbc['scale'] == pytest.approx((128 / 120, 128 / 120)) and wbc['max_crop_size'] == (300, 300)
    assert wbc['stride'] == (85, 85)
    wbc256 = whole_field_settings(Config.fromfile(osp.join(REPO_ROOT, 'configs/unet/unet_s5-d16-fcn_1xb8-4k_wbc-256x256.py')))
    assert wbc256['scale'] == pytest.approx((256 / 120, 256 / 120)) and wbc256['crop_size'] == (256, 256)
    syn = whole_field_settings(Config.fromfile(osp.join(
        REPO_ROOT, 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_synthetic-128x128.py')))
    assert syn['scale'] == (1.0, 1.0) and syn['max_crop_size'] == (128, 128)
    # minimum component area: 0 unless the config or the caller sets it; the field-trained configs set 100
    assert wbc['min_area'] == 0 and whole_field_settings(cfg, min_area=30)['min_area'] == 30
    for name in ('msff_segnext/msff-segnext_mscan-t', 'segnext/segnext_mscan-t', 'unet_monai/unet-monai_ufl'):
        fields = whole_field_settings(Config.fromfile(osp.join(
            REPO_ROOT, f'configs/{name}_1xb8-600it_wbc-fields-128x128.py')))
        assert fields['min_area'] == 100 and fields['scale'] == pytest.approx((128 / 120, 128 / 120))
        assert whole_field_settings(Config.fromfile(osp.join(
            REPO_ROOT, f'configs/{name}_1xb8-600it_wbc-fields-128x128.py')), min_area=0)['min_area'] == 0
    with pytest.raises(ValueError, match='must be a number >= 0'):
        whole_field_settings(cfg, min_area=-1)


def test_segmenter_is_deterministic_and_leaves_the_callers_random_state(whole_field):
    """The tiny MSFF's Hamburger draws random NMF bases at every forward pass: unseeded, two calls on
    one image may differ; the Segmenter runs each call under its seed and restores the caller's state."""
    import torch

    from mmseg_plugins.apis import WHOLE
    segmenter = whole_field['segmenter']
    field = np.concatenate(whole_field['crops'][:3], axis=1)
    torch.manual_seed(123)
    first, _ = segmenter(field, WHOLE)
    after = torch.rand(3)
    torch.manual_seed(123)
    expected_after = torch.rand(3)
    second, _ = segmenter(field, WHOLE)
    assert np.array_equal(first, second)
    assert torch.equal(after, expected_after)   # the caller's sequence is not advanced by the model


def test_min_area_removes_small_whole_field_components(whole_field):
    """The area threshold is in network-input pixels: (64/48)**2 of them per source pixel here."""
    import torch

    from hemaseg.field_eval import remove_small_regions
    from mmseg_plugins.apis import WHOLE
    segmenter = whole_field['segmenter']
    field = np.concatenate([np.concatenate(whole_field['crops'][i:i + 2], axis=1) for i in (0, 2)], axis=0)
    try:
        torch.manual_seed(0)
        raw, _ = segmenter(field, WHOLE)
        sizes = np.bincount(ndi.label(raw == 1)[0].ravel())[1:]
        assert sizes.size >= 2
        threshold = float(np.sort(sizes)[-1])       # source pixels of the largest component
        segmenter.settings['min_area'] = threshold * (INPUT / CROP) ** 2
        torch.manual_seed(0)
        kept, what = segmenter(field, WHOLE)
        expected, removed = remove_small_regions(raw, int(threshold))
        np.testing.assert_array_equal(kept, expected)
        assert removed == sizes.size - (sizes >= threshold).sum() and f'{removed} component(s) under' in what
        assert ndi.label(kept == 1)[1] == (sizes >= threshold).sum() >= 1
    finally:
        segmenter.settings['min_area'] = 0.0


def test_whole_field_mode_on_one_crop_is_the_single_crop_prediction(whole_field):
    """A 48 px crop rescaled by 64/48 is exactly one 64x64 window: the two modes must agree, and
    an input smaller than one window is padded and cut back to its own size. (Seeded: the
    Hamburger draws random NMF bases at every forward pass.)"""
    import torch

    from mmseg_plugins.apis import SINGLE, WHOLE
    segmenter = whole_field['segmenter']
    for crop in whole_field['crops'][:3]:
        torch.manual_seed(0)
        single, _ = segmenter(crop, SINGLE)
        torch.manual_seed(0)
        whole, what = segmenter(crop, WHOLE)
        assert 'whole-field' in what and np.array_equal(single, whole)
    part = whole_field['crops'][0][:30, :40]
    pred, what = segmenter(part, WHOLE)
    assert pred.shape == (30, 40) and '(padded by 24x11)' in what


def test_gate_keeps_only_what_the_handcrafted_mask_agrees_with(whole_field):
    """--gate handcrafted: every nucleus pixel written is also a handcrafted-mask pixel, components under
    the area are gone, and the tool reports what it removed."""
    from hemaseg.handcrafted import handcrafted_gate, segment_nucleus_handcrafted
    tmp = whole_field['tmp']
    out = tmp / 'out_gated'
    field = tmp / 'fields' / 'a' / 'field.png'
    proc = run([osp.join(REPO_ROOT, 'tools', 'infer.py'), str(tmp / 'msff_tiny_48to64.py'),
                str(tmp / 'work' / f'iter_{ITERS}.pth'), str(field), '--whole-field', '--gate', 'handcrafted',
                '--gate-min-area', '20', '--out', str(out)])
    rgb = cv2.imread(str(field))[:, :, ::-1]
    gated = cv2.imread(str(out / 'masks' / 'field.png'), cv2.IMREAD_UNCHANGED)
    ungated = cv2.imread(str(whole_field['out'] / 'masks' / 'a' / 'field.png'), cv2.IMREAD_UNCHANGED)
    hand = segment_nucleus_handcrafted(rgb)
    assert (gated == 1).any() and ((gated == 1) & ~hand).sum() == 0
    labels, n = ndi.label(gated == 1, structure=ndi.generate_binary_structure(2, 1))
    assert np.bincount(labels.ravel())[1:].min() >= 20  # the area opening ran
    # The same gate on the ungated run's mask (the Hamburger's random NMF bases make the two runs'
    # predictions differ in a few pixels, so compare up to those).
    expected, report = handcrafted_gate(rgb, ungated, 1, min_area=20)
    assert (gated != expected).mean() < 1e-3
    m = re.search(r'gate \(handcrafted AND, area opening\): (\d+) -> (\d+) component\(s\), (\d+) removed '
                  r'entirely; (\d+) -> (\d+) pixels', proc.stdout)
    assert m, proc.stdout
    before, after, removed, px_before, px_after = map(int, m.groups())
    assert (after, px_after) == (n, int((gated == 1).sum()))
    assert abs(before - report.components_before) <= 1 and removed <= before
    assert (f'gate: {removed} of {before} predicted component(s) removed entirely over 1 image(s)') in proc.stdout


def test_gate_is_refused_for_instance_configs_and_checks_its_area(whole_field, tmp_path):
    tiny_det = osp.join(REPO_ROOT, 'tests', 'configs', 'yolact_cis_tiny.py')
    cfg = whole_field['tmp'] / 'msff_tiny_48to64.py'
    ckpt = str(whole_field['tmp'] / 'work' / f'iter_{ITERS}.pth')
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'infer.py'), str(cfg), ckpt, str(whole_field['tmp'] / 'crops'),
                     '--gate', 'handcrafted', '--gate-min-area', '-1', '--out', str(tmp_path)], check=False)
    assert proc.returncode != 0 and 'error: --gate-min-area must be >= 0, got -1' in proc.stderr
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'infer.py'), str(cfg), ckpt, str(whole_field['tmp'] / 'crops'),
                     '--min-area', '-5', '--out', str(tmp_path)], check=False)
    assert proc.returncode != 0 and 'error: --min-area must be >= 0, got -5.0' in proc.stderr
    proc = run_tool([osp.join(REPO_ROOT, 'tools', 'infer.py'), tiny_det, ckpt, str(whole_field['tmp'] / 'crops'),
                     '--gate', 'handcrafted', '--out', str(tmp_path)], check=False)
    assert proc.returncode != 0 and '--gate and --min-area apply to segmentation configs only' in proc.stderr


def test_field_eval_scores_a_model_on_composite_fields(whole_field):
    """tools/field_eval.py: build fields from the held-out synthetic crops, score the tiny model with and
    without the gate; the summary is the sum of the per-field rows, and the gate never adds components."""
    import csv
    import json
    tmp = whole_field['tmp']
    tool = osp.join(REPO_ROOT, 'tools', 'field_eval.py')
    fields = tmp / 'composite'
    run([tool, 'build', tmp / 'data', '--split', 'fold0_test', '--out', fields, '--num-fields', '2',
         '--size', '144', '192', '--cells', '3', '4', '--patch', '8', '--margin', '2', '--margin-factor', '0.5'])
    config, ckpt = tmp / 'msff_tiny_48to64.py', tmp / 'work' / f'iter_{ITERS}.pth'
    totals = {}
    for gate in ('none', 'handcrafted'):
        out = tmp / f'field_scores_{gate}'
        proc = run([tool, 'score', config, ckpt, fields, '--gate', gate, '--gate-min-area', '20', '--out', out])
        rows = list(csv.DictReader(open(out / 'field_scores.csv')))
        summary = json.loads((out / 'summary.json').read_text())
        assert len(rows) == 2 == summary['fields']
        assert summary['false_positives'] == sum(int(r['false_positives']) for r in rows)
        assert summary['found'] == sum(int(r['found']) for r in rows) <= summary['reference_nuclei']
        assert summary['reference_nuclei'] >= 6 and f'{summary["fields"]} fields: ' in proc.stdout
        totals[gate] = summary
    assert totals['handcrafted']['false_positives'] <= totals['none']['false_positives']
    bad = run_tool([tool, 'score', config, ckpt, fields, '--gate', 'handcrafted', '--reference', 'handcrafted',
                    '--out', tmp / 'x'], check=False)
    assert bad.returncode != 0 and 'contains that mask by construction' in bad.stderr
    bad = run_tool([tool, 'score', config, ckpt, tmp / 'crops', '--out', tmp / 'x'], check=False)
    assert bad.returncode != 0 and 'no masks/ folder' in bad.stderr
