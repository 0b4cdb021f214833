#!/usr/bin/env python
"""Build, re-export and validate COCO instance-segmentation datasets (spec 001 §5, spec 004 §5).

Examples (from the repository root):
    python tools/dataset_converters/coco_instances.py wbc /path/to/wbc_zheng2018 --out data/wbc_coco
    python tools/dataset_converters/coco_instances.py wbc /path/to/wbc_zheng2018 --folds 3 --out data/wbc_coco_3fold
    python tools/dataset_converters/coco_instances.py labelme /path/to/ALL_IDB1/im --annotations /path/to/labelme \\
        --map wbc=wbc --crop 512 --stride 256 --dataset all_idb1 --out data/all_idb1_coco
    python tools/dataset_converters/coco_instances.py coco bccd_wbc.json /path/to/BCCD/JPEGImages \\
        --pad-square --dataset bccd --out data/bccd_coco
    python tools/dataset_converters/coco_instances.py raabin /path/to/GrTh/images /path/to/GrTh/masks --out data/raabin_coco
    python tools/dataset_converters/coco_instances.py validate data/wbc_coco/annotations/*.json
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from hemaseg.data.coco_converters import (ROLES, convert_coco, convert_labelme, convert_raabin, convert_wbc_coco,
                                          parse_label_map)
from hemaseg.data.coco_validate import validate_coco
from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli
from hemaseg.data.rle import SEGM_FORMATS
from hemaseg.data.wbc_zheng2018 import SUBSETS

LAYOUT = """output:
  <out>/images/<stem>.png, <out>/annotations/all.json,
  <out>/annotations/fold{k}_{train,val,test}.json (6:2:2, k < --folds, default 5; same ids as all.json),
  <out>/meta.json"""

CROP_HELP = """preparation (spec 001 §5):
  ALL-IDB1: --crop 512 --stride 256. Windows start at 0, 256, ... plus one flush with the right/bottom
    border (not stated in the paper; covers every pixel without padding). A WBC cut by the crop border is
    kept if >= --min-visible of it is inside (not stated; default 0.5), crops keeping no WBC are discarded,
    and crops of one image share a split group (no train/test leakage).
  BCCD: --pad-square zero-pads to a square at the bottom/right (not stated where; this keeps coordinates).
  The paper's final 550x550 resize is left to the training pipeline; one class: map all WBC labels
  to one category."""


def _common(p: argparse.ArgumentParser, out_default: str | None) -> None:
    p.add_argument('--out', default=out_default, required=out_default is None, help='output folder'
                   + (f' (default: {out_default})' if out_default else ''))
    p.add_argument('--segm-format', choices=SEGM_FORMATS, default='polygon',
                   help="'polygon': exact pixel-edge outlines, masks with holes fall back to RLE (reported); "
                        "'rle': compressed RLE (default: polygon)")
    add_split_options(p)  # --seed, --folds, near-duplicate grouping


def _cropping(p: argparse.ArgumentParser) -> None:
    """The options of the polygon sources (labelme, coco): cropping and the polygon bounds check."""
    p.add_argument('--bounds-tolerance', type=float, default=3.0,
                   help='how far (px) polygon points may lie outside the image before it is an error (default 3)')
    p.add_argument('--dataset', help='dataset name stored in meta.json (default: the subcommand)')
    p.add_argument('--crop', type=int, help='cut square crops of this size (ALL-IDB1: 512)')
    p.add_argument('--stride', type=int, help='sliding-window stride (default: half the crop; ALL-IDB1: 256)')
    p.add_argument('--pad-square', action='store_true', help='zero-pad each image to a square, bottom/right (BCCD)')
    p.add_argument('--min-visible', type=float, default=0.5,
                   help='with --crop: keep a WBC cut by the crop border if at least this fraction of it is '
                        'inside (default 0.5)')


def _nucleus(p: argparse.ArgumentParser, snap_default: int) -> None:
    p.add_argument('--with-nucleus', action='store_true',
                   help="also export the nucleus as a second category 'nucleus' (default: only 'cell')")
    p.add_argument('--snap-tolerance', type=int, default=snap_default,
                   help='snap stray mask grey levels within this distance of a mapped value (reported in meta.json '
                        f'repaired_pixels); 0 makes them errors (default {snap_default})')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    raw = argparse.RawDescriptionHelpFormatter

    w = sub.add_parser('wbc', formatter_class=raw, help='WBC of Zheng et al. 2018 -> one cell instance per image',
                       epilog=f"""input:
  <src>/dataset1/NNN.bmp + NNN.png and <src>/dataset2/NNN.bmp + NNN.png (masks: 0 background,
  128 cytoplasm, 255 nucleus). Category 'cell' = largest connected component of nucleus + cytoplasm
  (images with more components are reported); stems d1_NNN / d2_NNN; splits stratified by subset.
{LAYOUT}""")
    w.add_argument('src', help='folder holding dataset1/ and dataset2/')
    w.add_argument('--subsets', nargs='+', choices=SUBSETS, default=list(SUBSETS), help='subsets (default: both)')
    _nucleus(w, 60)
    _common(w, 'data/wbc_coco')

    lm = sub.add_parser('labelme', formatter_class=raw, help='images + LabelMe polygons (ALL-IDB1, BCCD)',
                        epilog=f"""input:
  a folder of images; per image <stem>.<ext> a LabelMe file <stem>.json (in --annotations, default the
  image folder) with one polygon per cell. Images without annotation are listed and skipped.
{CROP_HELP}
{LAYOUT}""")
    lm.add_argument('images', help='folder of images')
    lm.add_argument('--annotations', help='folder of <stem>.json LabelMe files (default: the image folder)')
    lm.add_argument('--map', nargs='+', metavar='LABEL=CATEGORY',
                    help='LabelMe label -> category (case-insensitive); unmapped labels are ignored and counted '
                         '(default: every label is its own category)')
    _cropping(lm)
    _common(lm, None)

    c = sub.add_parser('coco', formatter_class=raw, help='re-export a COCO file with validation and splits',
                       epilog=f"""input:
  a COCO instance file (polygons or RLE) and the folder its file_name entries are relative to.
  Segmentations are decoded and re-encoded (--segm-format), bbox/area recomputed, crowd
  annotations skipped (reported).
{CROP_HELP}
{LAYOUT}""")
    c.add_argument('json', help='COCO annotation file')
    c.add_argument('images', help='folder the file_name entries are relative to')
    c.add_argument('--map', nargs='+', metavar='NAME=CATEGORY',
                   help='category name -> output category (case-insensitive); unmapped categories are ignored '
                        '(default: keep all)')
    _cropping(c)
    _common(c, None)

    r = sub.add_parser('raabin', formatter_class=raw, help='Raabin-WBC per-cell images + nucleus/cytoplasm masks',
                       epilog=f"""input:
  <images>/[<Class>/]<name>.<jpg|png|bmp|tif> and <masks>/[<Class>/]<name>.<png|bmp|tif>, paired by
  relative path and name. Masks are grey levels mapped by --values. The first folder level (e.g. the
  WBC class) is the split stratum when every file has one. The folder names of the public
  ground-truth release may differ: point IMAGES and MASKS at its image and mask roots.
{LAYOUT}""")
    r.add_argument('images', help='root folder of the cell images')
    r.add_argument('masks', help='root folder of the masks (same relative paths)')
    r.add_argument('--values', default='0:background,128:cytoplasm,255:nucleus',
                   help=f'mask grey level -> role ({", ".join(ROLES)}) '
                        '(default: 0:background,128:cytoplasm,255:nucleus)')
    _nucleus(r, 0)
    _common(r, 'data/raabin_coco')

    v = sub.add_parser('validate', help='check COCO files against their images')
    v.add_argument('json', nargs='+', help='COCO annotation file(s)')
    v.add_argument('--images', help="image folder (default: '<json folder>/../images', the converters' layout)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == 'validate':
        for path in args.json:
            root = Path(args.images) if args.images else Path(path).resolve().parent.parent / 'images'
            counts = validate_coco(path, root)
            print(f'{path}: valid; {counts["images"]} images, {counts["annotations"]} instances ('
                  + ', '.join(f'{k} {n}' for k, n in counts['per_category'].items()) + ')')
        return
    common = {'segm_format': args.segm_format, **split_kwargs(args)}
    if args.command == 'wbc':
        convert_wbc_coco(args.src, args.out, subsets=args.subsets, with_nucleus=args.with_nucleus,
                         snap_tolerance=args.snap_tolerance, **common)
    elif args.command == 'raabin':
        convert_raabin(args.images, args.masks, args.out, values=args.values, with_nucleus=args.with_nucleus,
                       snap_tolerance=args.snap_tolerance, **common)
    else:
        prep = {'crop': args.crop, 'stride': args.stride or (args.crop // 2 if args.crop else None),
                'pad_square': args.pad_square, 'min_visible': args.min_visible, 'dataset': args.dataset or args.command,
                'bounds_tolerance': args.bounds_tolerance, **common}
        if args.command == 'labelme':
            convert_labelme(args.images, args.out, annotations=args.annotations, label_map=parse_label_map(args.map),
                            **prep)
        else:
            convert_coco(args.json, args.images, args.out, category_map=parse_label_map(args.map), **prep)
    print(f'all COCO files validated; dataset ready in {args.out}')


if __name__ == '__main__':
    run_cli(main)
