#!/usr/bin/env python
"""Convert ALL-IDB1 (108 whole smear fields with blast centroids): ALL-vs-normal classification + centroids,
or, given your own per-image cell masks (--masks), whole-cell segmentation + centroids.

Example (from the repository root):
    python tools/dataset_converters/all_idb1.py /path/to/ALL_IDB1 --out data/all_idb1
    python tools/dataset_converters/all_idb1.py /path/to/ALL_IDB1 --masks /path/to/wbc_masks \\
        --out data/all_idb1_wholecell
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.all_idb1 import NO_MASKS_NOTE, convert_all_idb1
from hemaseg.data.classification import verify_classification_dataset
from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli
from hemaseg.data.splits import verify_splits


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""input:
  <src>/im/ImNNN_L.jpg and <src>/xyc/ImNNN_L.xyc as distributed (or both in one folder); L = 1 ALL, 0 healthy.
  .xyc: one blast centroid "x<TAB>y" per line (x = column, y = row, pixels), empty for healthy fields.
  --masks DIR: <stem>.png/.tif/... per image, one grey channel, coded 0/1 or 0/255 (cell = 1 / 255).
output (no --masks; {NO_MASKS_NOTE.split(';')[0]}):
  images/<normal|ALL>/ImNNN_L.jpg (byte copies), splits/fold{{k}}_{{train,val,test}}.txt lines
  "<class>/<file> <label>" (normal 0, ALL 1), meta.json with labels and blast_centroids, points/<stem>.json.
output (--masks):
  images/, masks/ (wholecell: 0 background, 1 cell) at the original resolution, splits/, meta.json,
  points/<stem>.json. Splits in both: stratified by ALL/normal, identical images and near-duplicates kept in
  one chunk.""")
    p.add_argument('src', help='ALL-IDB1 folder holding im/ and xyc/ (or the images and .xyc files together)')
    p.add_argument('--masks', metavar='DIR', help='folder of per-image cell masks named like the images; '
                                                  'without it the classification layout is written')
    p.add_argument('--out', help='output folder (default: data/all_idb1, with --masks data/all_idb1_wholecell)')
    add_split_options(p)  # --seed, --folds, near-duplicate grouping
    p.add_argument('--snap-tolerance', type=int, default=60,
                   help='0/255 masks: snap values within this distance of 0 or 255 (reported in meta.json '
                        'repaired_pixels); 0 makes them errors (default 60)')
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    out = args.out or ('data/all_idb1_wholecell' if args.masks else 'data/all_idb1')
    convert_all_idb1(args.src, out, masks=args.masks, snap_tolerance=args.snap_tolerance, **split_kwargs(args))
    if args.masks:
        verify_splits(out)
    else:
        verify_classification_dataset(out)
    print(f'splits verified; dataset ready in {out}')


if __name__ == '__main__':
    run_cli(main)
