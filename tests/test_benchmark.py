"""tools/benchmark.py measures every model in one run and reports ratios to SegNeXt-T."""
import os
import os.path as osp
import subprocess
import sys

import pytest

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from conftest import REPO_ROOT  # noqa: E402


def test_benchmark_reports_ratios_to_segnext(tmp_path):
    out = tmp_path / 'bench.md'
    proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--size', '64', '--iters',
                           '1', '--models', 'MSFF-SegNeXt', '--out', str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]]
            for line in out.read_text().splitlines() if line.startswith('| ') and 'model' not in line}
    assert set(rows) == {'SegNeXt-T', 'MSFF-SegNeXt'}  # the baseline is always measured too
    assert rows['SegNeXt-T'][1] == '1.00' and rows['SegNeXt-T'][3] == '1.00'
    # Parameter ratio from the exact counts of test_mmseg_msff: 6,138,072 / 4,225,378.
    assert rows['MSFF-SegNeXt'][0] == '6.138' and rows['MSFF-SegNeXt'][1] == '1.45'
    assert float(rows['MSFF-SegNeXt'][2]) > float(rows['SegNeXt-T'][2])  # EGA adds multiply-adds
    assert 'python tools/benchmark.py' in out.read_text()
