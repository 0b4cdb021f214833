#!/usr/bin/env python
"""Convert the WBC datasets of Zheng et al. 2018 (dataset1 + dataset2) into the project format.

Example (from the repository root):
    python tools/dataset_converters/wbc_zheng2018.py /path/to/wbc_zheng2018 --out data/wbc_nucleus
    python tools/dataset_converters/wbc_zheng2018.py /path/to/wbc_zheng2018 --classes 3class --out data/wbc_3class
    # the paper's three-fold CV (folds 0-2 only; what docs/results.md measured):
    python tools/dataset_converters/wbc_zheng2018.py /path/to/wbc_zheng2018 --folds 3 --out data/wbc_nucleus_3fold
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli
from hemaseg.data.splits import report_ready
from hemaseg.data.wbc_zheng2018 import SUBSETS, convert_wbc_zheng2018


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""input:
  <src>/dataset1/NNN.bmp + NNN.png and <src>/dataset2/NNN.bmp + NNN.png; masks are grey
  levels 0 background (red cells included), 128 cytoplasm, 255 nucleus.
output:
  images/, masks/, splits/fold{k}_{train,val,test}.txt (k < --folds), meta.json""")
    p.add_argument('src', help='folder holding dataset1/ and dataset2/ (e.g. a clone of the authors\' release)')
    p.add_argument('--out', help='output folder (default: data/wbc_<classes>)')
    p.add_argument('--subsets', nargs='+', choices=SUBSETS, default=list(SUBSETS),
                   help='subsets to merge (default: both, as in the paper); stems become d1_NNN / d2_NNN')
    p.add_argument('--classes', choices=('nucleus', '3class'), default='nucleus',
                   help="'nucleus': 0 background, 1 nucleus; '3class': 0 background, 1 cytoplasm, 2 nucleus")
    add_split_options(p)  # --seed, --folds, near-duplicate grouping
    p.add_argument('--snap-tolerance', type=int, default=60,
                   help='snap stray mask grey levels within this distance of 0/128/255 (reported in meta.json '
                        'repaired_pixels); 0 makes them errors (default 60)')
    args = p.parse_args(argv)
    args.out = args.out or f'data/wbc_{args.classes}'  # the default depends on --classes
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    convert_wbc_zheng2018(args.src, args.out, subsets=args.subsets, classes=args.classes,
                          snap_tolerance=args.snap_tolerance, **split_kwargs(args))
    report_ready(args.out)


if __name__ == '__main__':
    run_cli(main)
