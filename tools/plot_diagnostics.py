#!/usr/bin/env python
"""Plot the training diagnostics of Detectron2 runs (``DIAGNOSTICS.ENABLED True``) side by side.

    python tools/plot_diagnostics.py RUN_A/diagnostics.jsonl RUN_B/diagnostics.jsonl \
        --labels "without GroupNorm" "with GroupNorm" --out collapse.png [--title ...]

Panels: gradient norm before clipping, the largest B-U-CA-SA attention gate, the box head's
foreground recall (1 - fast_rcnn/false_negative) and the total loss, per iteration.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hemaseg.data.io import run_cli
from hemaseg.training_plots import plot_diagnostics, read_diagnostics


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+', help='diagnostics.jsonl files')
    p.add_argument('--labels', nargs='+', help='one label per file (default: the run folders)')
    p.add_argument('--out', required=True, help='the PNG to write')
    p.add_argument('--title', default='')
    args = p.parse_args(argv)
    labels = args.labels or [Path(r).parent.name for r in args.runs]
    if len(labels) != len(args.runs):
        raise SystemExit(f'error: {len(args.runs)} files but {len(labels)} labels')
    plot_diagnostics({label: read_diagnostics(path) for label, path in zip(labels, args.runs)}, args.out, args.title)
    print(f'written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
