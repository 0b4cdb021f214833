#!/usr/bin/env python
"""Convert any class-per-folder image dataset into MMPretrain's CustomDataset layout with the project's splits.

Example (from the repository root):
    python tools/dataset_converters/class_folders.py /path/to/b_all_aria2021 --out data/b_all_aria
    # patients in sub-folders <class>/<patient>/<image>: keep each patient in one split
    python tools/dataset_converters/class_folders.py /path/to/set --out data/set --group-regex '^[^/]+/([^/]+)/'
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.annotations import IMAGE_EXTS
from hemaseg.data.classification import convert_class_folders, verify_classification_dataset
from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""input:
  <src>/<class>/.../<image> ({' '.join(IMAGE_EXTS)}), searched recursively in every class folder;
  hidden files are skipped, other files reported. Every image is decoded once to check it.
output:
  images/<class>/<path> (byte copies), splits/all.txt and splits/fold{{k}}_{{train,val,test}}.txt with lines
  "<class>/<path> <label index>" (mmpretrain CustomDataset: data_prefix='images', ann_file=<split file>),
  meta.json (classes in label order, counts per class and split, groups). Splits are stratified by
  class; identical images, near-duplicates (--near-dup-distance) and files with the same --group-regex id stay
  in one chunk.""")
    p.add_argument('src', help='folder with one sub-folder of images per class')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--classes', nargs='+', metavar='CLASS',
                   help='class folders to use, in label order (default: all, sorted by name)')
    p.add_argument('--exclude-classes', nargs='+', default=[], metavar='CLASS', help='class folders to leave out')
    p.add_argument('--group-regex', metavar='REGEX',
                   help='regular expression searched in "<class>/<path>"; its first group (else the whole match) '
                        'is the patient/slide id, kept in one split. Without it images are split independently '
                        '(a leakage warning is printed and stored in meta.json)')
    p.add_argument('--dataset', help='dataset name stored in meta.json (default: the source folder name)')
    add_split_options(p)  # --seed, --folds, near-duplicate grouping
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    convert_class_folders(args.src, args.out, classes=args.classes, exclude_classes=args.exclude_classes,
                          group_regex=args.group_regex, dataset=args.dataset, **split_kwargs(args))
    verify_classification_dataset(args.out)
    print(f'splits verified; dataset ready in {args.out}')


if __name__ == '__main__':
    run_cli(main)
