"""tools/gpu_protocol.sh on the CPU, shortened: the WBC protocol's conversion, two folds of both
models trained side by side (2 iterations each), the fold t-test and the paired per-image
comparison, and its summary; a missing data folder is named."""
import os
import os.path as osp
import subprocess

import pytest

from conftest import REPO_ROOT, WBC_ROOT

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')


def run(args, tmp_path, timeout=1200):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO_ROOT)
    return subprocess.run(['bash', 'tools/gpu_protocol.sh', *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.skipif(not osp.isdir(WBC_ROOT), reason=f'real WBC data not found at {WBC_ROOT}')
def test_wbc_protocol_shortened_on_cpu(tmp_path):
    out = tmp_path / 'protocol'
    proc = run(['--data', osp.dirname(WBC_ROOT), '--out', str(out), '--parts', 'seg', '--seg-iters', '2',
                '--folds', '0 1', '--amp', 'none', '--seg-minutes', '15'], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = (out / 'summary.md').read_text()
    assert 'WBC protocol (folds 0 1 x MSFF-SegNeXt and SegNeXt-T, 2 iterations' in summary
    assert 'exit status 0' in summary
    for name in ('msff-segnext', 'segnext-t'):
        assert (out / 'seg' / name / 'cv_summary.json').is_file()
        for k in (0, 1):
            assert (out / 'seg' / name / f'fold{k}.log').is_file()  # folds ran in parallel, one log each
        rows = (out / 'seg' / name / 'per_image_all_folds.csv').read_text().splitlines()
        assert len(rows) == 1 + 160  # the two folds' 80 test images each, every image once
    assert '| mDice |' in summary  # the fold t-test
    assert 'MSFF-SegNeXt - SegNeXt-T (Dice): mean' in summary and '95 % bootstrap CI' in summary
    assert (out / 'seg' / 'compare.json').is_file()


def test_missing_data_is_named(tmp_path):
    proc = run(['--data', str(tmp_path / 'nothing'), '--out', str(tmp_path / 'o')], tmp_path, timeout=60)
    assert proc.returncode == 2 and 'error: --data must be a folder holding wbc_zheng2018/' in proc.stderr
