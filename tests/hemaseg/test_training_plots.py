"""tools/plot_diagnostics.py reads diagnostics.jsonl rows (derived keys) and writes the figure."""
import json

import pytest

from conftest import run_tool
from hemaseg.training_plots import read_diagnostics


def write_rows(path, rows):
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))


def test_derived_keys_and_the_figure(tmp_path):
    rows = [{'iteration': i, 'total_loss': 1.0 / (i + 1), 'grad_norm/total': 10.0 + i,
             'attn/neck.a/max': 2.0 + i, 'attn/neck.b/max': 3.0, 'attn/neck.a/mean': 1.0,
             'fast_rcnn/false_negative': 0.25} for i in range(5)]
    write_rows(tmp_path / 'd.jsonl', rows)
    got = read_diagnostics(tmp_path / 'd.jsonl')
    assert [r['attn_max'] for r in got] == [3.0, 3.0, 4.0, 5.0, 6.0]  # the largest gate of each row
    assert all(r['fg_recall'] == pytest.approx(0.75) for r in got)
    run_tool(['tools/plot_diagnostics.py', str(tmp_path / 'd.jsonl'), str(tmp_path / 'd.jsonl'), '--labels', 'a', 'b',
              '--out', str(tmp_path / 'fig.png')])
    assert (tmp_path / 'fig.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    (tmp_path / 'bad.jsonl').write_text('{"iteration": 0}\nnot json\n')
    proc = run_tool(['tools/plot_diagnostics.py', str(tmp_path / 'bad.jsonl'), '--out', str(tmp_path / 'x.png')],
                    check=False)
    assert proc.returncode != 0 and 'bad.jsonl: line 2 is not JSON' in proc.stderr
