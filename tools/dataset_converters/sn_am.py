#!/usr/bin/env python
"""Cut nucleus-centred single-cell crops (spec 000 §5.1) from SN-AM B-ALL images.

Example (from the repository root):
    python tools/dataset_converters/sn_am.py /path/to/sn_am/images --annotations /path/to/labelme_json --out data/sn_am
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.annotations import IMAGE_EXTS
from hemaseg.data.duplicates import add_split_options, split_kwargs
from hemaseg.data.io import run_cli
from hemaseg.data.sn_am import convert_sn_am
from hemaseg.data.splits import report_ready


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""input:
  a folder of full images ({' '.join(IMAGE_EXTS)}); per image <stem>.<ext> its nuclei, in the
  annotation folder, as either
    (a) <stem>.json  LabelMe file: one polygon per nucleus, label --label (other labels ignored), or
    (b) <stem>.png   instance mask: 0 background, each positive id one nucleus
                     (8/16-bit; only in a separate --annotations folder)
output:
  one crop <stem>_c<k> per nucleus, centred on its centroid, black-padded outside the image;
  its mask is 1 on that nucleus only. Splits 6:2:2 x --folds folds, grouped by source image.
  Images without annotation are warned about and listed, not fatal.""")
    p.add_argument('images', help='folder of full SN-AM images')
    p.add_argument('--annotations', help='folder of <stem>.json / <stem>.png annotations (default: the image folder)')
    p.add_argument('--out', default='data/sn_am', help='output folder (default: data/sn_am)')
    p.add_argument('--crop-size', type=int, default=350, help='square crop size in pixels (default 350, as the paper)')
    p.add_argument('--label', default='nucleus', help='LabelMe label of nucleus polygons (default: nucleus)')
    p.add_argument('--keep-other-nuclei', action='store_true',
                   help='also label other nuclei that fall into a crop (default: only the centred one)')
    p.add_argument('--bounds-tolerance', type=float, default=3.0,
                   help='how far (px) polygon points may lie outside the image before it is an error (default 3)')
    add_split_options(p)  # --seed, --folds, near-duplicate grouping
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    convert_sn_am(args.images, args.out, annotations=args.annotations, crop_size=args.crop_size, label=args.label,
                  keep_other_nuclei=args.keep_other_nuclei, bounds_tolerance=args.bounds_tolerance,
                  **split_kwargs(args))
    report_ready(args.out)


if __name__ == '__main__':
    run_cli(main)
