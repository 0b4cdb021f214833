#!/usr/bin/env python
"""Generate the synthetic Jenner-Giemsa single-cell dataset (the project's default quick-start data).

Example (from the repository root):
    python tools/dataset_converters/make_synthetic.py --out data/synthetic_nucleus
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.duplicates import add_near_dup_options, near_dup_distance_of
from hemaseg.data.io import run_cli
from hemaseg.data.splits import FOLDS_HELP, NUM_CHUNKS, NUM_FOLDS, verify_splits
from hemaseg.data.synthetic import generate_synthetic_dataset


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', help="output folder (default: data/synthetic_<classes>)")
    p.add_argument('--num-images', type=int, default=100, help='number of images (default 100)')
    p.add_argument('--size', type=int, default=128, help='image side in pixels (default 128)')
    p.add_argument('--seed', type=int, default=0, help='generation and split seed (default 0)')
    p.add_argument('--classes', choices=('nucleus', '3class'), default='nucleus',
                   help="'nucleus': 0 background, 1 nucleus; '3class': 0 background, 1 cytoplasm, 2 nucleus")
    p.add_argument('--folds', type=int, choices=range(1, NUM_CHUNKS + 1), default=NUM_FOLDS, metavar='N',
                   help=FOLDS_HELP)
    add_near_dup_options(p)
    args = p.parse_args(argv)
    if args.num_images < 5 or args.size < 32:
        p.error('--num-images must be >= 5 (one per split chunk) and --size >= 32')
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    out = args.out or f'data/synthetic_{args.classes}'
    generate_synthetic_dataset(out, num_images=args.num_images, size=args.size, seed=args.seed, classes=args.classes,
                               num_folds=args.folds, near_dup_distance=near_dup_distance_of(args))
    verify_splits(out)
    print(f'splits verified; dataset ready in {out}')


if __name__ == '__main__':
    run_cli(main)
