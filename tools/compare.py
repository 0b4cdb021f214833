#!/usr/bin/env python
"""Paired per-image comparison of two models on the same test images (B - A).

    python tools/compare.py A.csv B.csv [--kind seg|cls|det] [--metric Dice] [--n-boot 10000]
                            [--seed 0] [--names A B] [--out result.json]

A.csv / B.csv: per-image files of the same test split, paired by their "image" column:
``tools/test.py CONFIG CKPT --per-image-csv F`` (seg, default metric Dice), the
``predictions.csv`` of ClassificationReport (cls, score = correct or not) or any CSV with
"image" and a numeric column named by --metric (det). --kind is detected from the header
when omitted. Prints a bootstrap CI of the mean difference, the Wilcoxon signed-rank p
(McNemar's exact p for classification) and wins / ties / losses; what each assumes is in
hemaseg/paired_stats.py.

Several runs of one model (seeds) on the same split: give them comma-separated,
``A_seed0.csv,A_seed1.csv,A_seed2.csv``; each image is then scored by its mean over the runs
and the test still pairs images (segmentation and detection files; classification runs are
compared one at a time).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from hemaseg.paired_stats import KINDS, PairedDataError, compare, format_line, pair_files


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('a', help='per-image CSV of model A (the reference); several runs of A (seeds): '
                             'comma-separated, each image scored by its mean over them (seg, det)')
    p.add_argument('b', help='per-image CSV of model B (differences are B - A); comma-separated as for A')
    p.add_argument('--kind', choices=KINDS, help='seg, cls or det (default: from the header)')
    p.add_argument('--metric', help='score column (default: Dice for seg, correctness for cls; required for det)')
    p.add_argument('--n-boot', type=int, default=10000, help='bootstrap resamples (default: 10000)')
    p.add_argument('--seed', type=int, default=0, help='bootstrap seed (default: 0)')
    p.add_argument('--level', type=float, default=0.95, help='confidence level of the CI (default: 0.95)')
    p.add_argument('--tie-tolerance', type=float, default=0.0,
                   help='|B - A| up to this is a tie (default: 0, exactly equal)')
    p.add_argument('--lower-is-better', action='store_true',
                   help='the metric counts errors (e.g. false_positives of tools/field_eval.py): a smaller score wins')
    p.add_argument('--names', nargs=2, default=('A', 'B'), metavar=('A', 'B'), help='names of the two models')
    p.add_argument('--out', help='write the result as JSON here')
    args = p.parse_args(argv)
    if args.n_boot < 1 or not 0 < args.level < 1 or args.tie_tolerance < 0:
        raise SystemExit(f'error: need --n-boot >= 1, 0 < --level < 1 and --tie-tolerance >= 0, got '
                         f'{args.n_boot}, {args.level}, {args.tie_tolerance}')
    try:
        kind, metric, images, scores_a, scores_b = pair_files(args.a.split(','), args.b.split(','), args.kind, args.metric)
    except PairedDataError as e:
        raise SystemExit(f'error: {e}') from None
    result = compare(scores_a, scores_b, metric, args.names, args.n_boot, args.seed, args.level, args.tie_tolerance,
                     lower_is_better=args.lower_is_better)
    print(f'{args.names[0]}: {args.a} (mean {metric} {result.mean_a:.4f}); '
          f'{args.names[1]}: {args.b} (mean {metric} {result.mean_b:.4f}); {kind}, {len(images)} paired images')
    print(format_line(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({'a': args.a, 'b': args.b, 'kind': kind, **asdict(result)},
                                             indent=2) + '\n', encoding='utf-8')
        print(f'result written to {args.out}')


if __name__ == '__main__':
    main()
