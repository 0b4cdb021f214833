"""Plots of training diagnostics (``OUTPUT_DIR/diagnostics.jsonl`` of ``det2_plugins.diagnostics``):
gradient norm, the largest attention gate, the box head's foreground recall and the loss per
iteration, one line per run, so a collapse and its cause can be seen side by side with a healthy run."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .data.io import PathLike

PANELS = (
    ('grad_norm/total', 'gradient norm\n(before clipping)', True),
    ('attn_max', 'largest attention\ngate (1 = neutral)', True),
    ('fg_recall', 'foreground recall\nof the box head', False),
    ('total_loss', 'total loss', True),
)


def read_diagnostics(path: PathLike) -> list[dict]:
    """The rows of a diagnostics.jsonl, with ``attn_max`` (max over every attention gate) and
    ``fg_recall`` (``1 - fast_rcnn/false_negative``) added where their sources are present."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except ValueError as e:
                raise ValueError(f'{path}: line {n} is not JSON ({e})') from None
            gates = [v for k, v in row.items() if k.startswith('attn/') and k.endswith('/max')]
            if gates:
                row['attn_max'] = max(gates)
            if 'fast_rcnn/false_negative' in row:
                row['fg_recall'] = 1.0 - row['fast_rcnn/false_negative']
            rows.append(row)
    if not rows:
        raise ValueError(f'{path}: no rows')
    return rows


def plot_diagnostics(runs: Mapping[str, Sequence[dict]], out: PathLike, title: str = '') -> None:
    """A 4-panel figure (:data:`PANELS`), one line per run (``{label: rows}``), written to ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(8, 9), sharex=True)
    for ax, (key, label, log) in zip(axes, PANELS):
        for name, rows in runs.items():
            pts = [(r['iteration'], r[key]) for r in rows if key in r]
            if pts:
                ax.plot(*zip(*pts), label=name, linewidth=1)
        if log:
            ax.set_yscale('log')
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel('iteration')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
