"""Training for whole fields removes the "nucleus in every window" failure, on synthetic data.

Two tiny MSFF-SegNeXt models are trained on the same synthetic single-cell crops (96 px, one white
cell each, red cells and platelets around it) for the same 300 iterations: one the single-crop way
(each crop resized to the 64x64 input), one with RandomFieldWindow (64x64 windows at the same scale,
cells off-centre, 30 % without nucleus). Both segment composite fields built from held-out crops on
backgrounds of nucleus-free regions (tools/field_eval.py), in whole-field mode. The field-trained model
must predict no component in the cell-free regions and find the nuclei; the single-crop model must
predict some there, which is what makes the check able to fail.
"""
import json
import os.path as osp

import pytest

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT, run_tool  # noqa: E402
from hemaseg.data.io import read_image  # noqa: E402

ITERS = 300
CONFIG = """
_base_ = [{base!r}]
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), {window},
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'), dict(type='PackSegInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
train_dataloader = dict(batch_size=4, dataset=dict(data_root={root!r}, ann_file='splits/fold0_train.txt',
                                                   pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(data_root={root!r}, ann_file='splits/fold0_test.txt', pipeline=test_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=10, end={iters})]
optim_wrapper = dict(optimizer=dict(lr=5e-3))
default_hooks = dict(checkpoint=dict(interval={iters}, save_best=None, max_keep_ckpts=1), logger=dict(interval=50),
                     visualization=dict(draw=False))
inference = dict(source_crop_size=(96, 96), max_crop_size=(96, 96))
"""
WINDOWS = {
    'single-crop': "dict(type='Resize', scale=(64, 64), keep_ratio=False)",
    'fields': "dict(type='RandomFieldWindow', crop_size=(64, 64), empty_prob=0.3)",
}


def test_field_windows_remove_false_nuclei_on_composite_fields(tmp_path):
    from hemaseg.data.synthetic import generate_synthetic_dataset
    data = tmp_path / 'data'
    generate_synthetic_dataset(str(data), num_images=60, size=96, seed=0, log=lambda _: None)
    tool = osp.join(REPO_ROOT, 'tools', 'field_eval.py')
    fields = tmp_path / 'fields'
    run_tool([tool, 'build', data, '--split', 'fold0_test', '--out', fields, '--num-fields', '4', '--size', '192',
              '256', '--cells', '3', '4', '--patch', '16', '--margin', '2', '--margin-factor', '1.0'])
    summary = {}
    for name, window in WINDOWS.items():
        config = tmp_path / f'{name}.py'
        config.write_text(CONFIG.format(base=osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py'), window=window,
                                        root=str(data), iters=ITERS))
        work = tmp_path / f'work_{name}'
        run_tool([osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', work])
        out = tmp_path / f'scores_{name}'
        proc = run_tool([tool, 'score', config, work / f'iter_{ITERS}.pth', fields, '--out', out, '--gate', 'both'])
        print(name, *proc.stdout.strip().splitlines()[-2:], sep='\n')
        summary[name] = json.loads((out / 'gate-none' / 'summary.json').read_text())
        gated = json.loads((out / 'gate-handcrafted' / 'summary.json').read_text())
        # the gate (AND with the handcrafted mask, then area opening) can only remove components' pixels
        assert gated['false_positives'] <= summary[name]['false_positives'] and gated['gate'] == 'handcrafted'
        for variant in ('gate-none', 'gate-handcrafted'):
            assert len(list((out / variant / 'overlays').glob('*.png'))) == 4
            assert len(list((out / variant / 'predictions').glob('*.png'))) == 4
    figure = tmp_path / 'before_after.png'
    proc = run_tool([tool, 'figure', f'{tmp_path / "scores_single-crop" / "gate-none"}=single crops',
                     f'{tmp_path / "scores_fields" / "gate-none"}=field windows', '--fields', 'field_000', 'field_001',
                     '--out', figure])
    sheet = read_image(figure)
    assert '2 field(s) x 2 run(s)' in proc.stdout and sheet.shape[0] > 2 * 192 and sheet.shape[1] > 2 * 256
    assert summary['fields']['reference_nuclei'] >= 12
    assert summary['fields']['false_positives'] == 0
    assert summary['fields']['recall'] >= 0.9
    assert summary['single-crop']['false_positives'] >= 1   # the failure the field windows remove
