#!/usr/bin/env python
"""Convert ALL-IDB2 (260 single-cell crops) for segmentation or ALL-vs-normal classification,
or score the second mask set against the expert one (--agreement).

Example (from the repository root):
    python tools/dataset_converters/all_idb2.py /path/to/all_idb2 --target nucleus --out data/all_idb2_nucleus
    python tools/dataset_converters/all_idb2.py /path/to/all_idb2 --target wholecell --annotator banik
    python tools/dataset_converters/all_idb2.py /path/to/all_idb2 --task classification --out data/all_idb2_cls
    python tools/dataset_converters/all_idb2.py /path/to/all_idb2 --agreement --target nucleus
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from hemaseg.data.all_idb2 import (ANNOTATORS, TARGETS, annotator_agreement, convert_all_idb2,
                                   convert_all_idb2_classification, format_agreement)
from hemaseg.data.classification import verify_classification_dataset
from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli
from hemaseg.data.splits import report_ready


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""input:
  <src>/images/ImNNN_L.tif (L = 1 ALL, 0 normal); <src>/masks_putzu/ImNNN_L.tif RGB codes background
  (255,255,255), cytoplasm (0,0,255), nucleus (0,255,255); <src>/masks_banik/ImNNN_L.png grey 0/155/255.
output (segmentation):
  images/, masks/ (labels: nucleus 0/1, wholecell 0/1, 3class 0 bg 1 cytoplasm 2 nucleus), splits/,
  meta.json; splits stratified by ALL/normal, identical images and near-duplicates kept in one chunk.
output (classification):
  images/<normal|ALL>/ImNNN_L.tif, splits/fold{k}_{train,val,test}.txt lines "<class>/<file> <label>"
  (normal 0, ALL 1) for mmpretrain CustomDataset, meta.json.
--agreement:
  no conversion: scores masks_banik against masks_putzu (pooled and per-image mean) for the classes of
  --target, prints them and writes JSON to --out (default data/all_idb2_agreement_<target>.json).""")
    p.add_argument('src', help='ALL-IDB2 folder holding images/, masks_putzu/ and/or masks_banik/')
    p.add_argument('--task', choices=('segmentation', 'classification'), default='segmentation',
                   help='segmentation (default) or ALL-vs-normal classification (labels from file names)')
    p.add_argument('--target', choices=TARGETS, default='nucleus',
                   help="segmentation labels: 'nucleus' 0 bg / 1 nucleus (default), 'wholecell' 0 bg / 1 cell, "
                        "'3class' 0 bg / 1 cytoplasm / 2 nucleus")
    p.add_argument('--annotator', choices=ANNOTATORS, default='putzu',
                   help='mask set: putzu (expert masks, the ground truth; default) or banik')
    p.add_argument('--out', help='output folder (default: data/all_idb2_<target>, data/all_idb2_cls for '
                                 'classification); with --agreement the JSON file')
    add_split_options(p)  # --seed, --folds, near-duplicate grouping
    p.add_argument('--snap-tolerance', type=int, default=60,
                   help='snap stray mask values within this distance (largest per-channel difference) of a code '
                        '(reported in meta.json repaired_pixels); 0 makes them errors (default 60)')
    p.add_argument('--agreement', action='store_true',
                   help='score the banik masks against the putzu masks instead of converting')
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.agreement:
        result = annotator_agreement(args.src, args.target, snap_tolerance=args.snap_tolerance)
        print('\n'.join(format_agreement(result)))
        out = Path(args.out or f'data/all_idb2_agreement_{args.target}.json')
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + '\n', encoding='utf-8')
        print(f'agreement written to {out}')
    elif args.task == 'classification':
        out = args.out or 'data/all_idb2_cls'
        convert_all_idb2_classification(args.src, out, **split_kwargs(args))
        verify_classification_dataset(out)
        print(f'splits verified; dataset ready in {out}')
    else:
        out = args.out or f'data/all_idb2_{args.target}'
        convert_all_idb2(args.src, out, target=args.target, annotator=args.annotator,
                         snap_tolerance=args.snap_tolerance, **split_kwargs(args))
        report_ready(out)


if __name__ == '__main__':
    run_cli(main)
