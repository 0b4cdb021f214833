#!/usr/bin/env python
"""COCO mask/box AP of instance predictions (spec 001 §6.1): AP, AP50, AP75, APs/m/l, AR.

    python tools/coco_eval.py GT.json PRED.json [--iou-type segm bbox] [--out metrics.json] \
        [--per-image-csv per_image.csv [--score-thr 0.5]]

PRED.json is a COCO results list: image_id, category_id, score and a compressed-RLE
"segmentation" (mask AP) and/or "bbox" [x, y, w, h] (box AP; derived from the mask
if absent). Results that name their image by "file_name" instead of "image_id" (what
tools/infer.py and tools/det2_infer.py write to predictions.json) are matched to the
ground truth's images by file name; those on files not in GT.json (e.g. inference ran
on every image, GT.json is the test split) are left out and counted. The table is
in %; --out writes fractions (pycocotools' convention, -1 = no ground truth in that
area range). --per-image-csv writes one row per image (mask AP of that image alone, the mean
best-match mask IoU of its instances, counts): the input of tools/compare.py for two models.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from hemaseg.coco_eval import IOU_TYPES, evaluate, format_table, per_image_scores
from hemaseg.data.io import run_cli


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('gt', help='ground-truth COCO file (e.g. <dataset>/annotations/fold0_test.json)')
    p.add_argument('pred', help='predictions: COCO results list')
    p.add_argument('--iou-type', nargs='+', choices=IOU_TYPES, default=list(IOU_TYPES),
                   help='mask (segm) and/or box (bbox) AP (default: both)')
    p.add_argument('--out', help='write the metrics as JSON here')
    p.add_argument('--per-image-csv', help='write per-image mask AP and matched IoU here (for tools/compare.py)')
    p.add_argument('--score-thr', type=float, default=0.5, help='predictions kept for the matched IoU (default 0.5)')
    args = p.parse_args(argv)
    results = evaluate(args.gt, args.pred, args.iou_type)
    print(format_table(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({'gt': args.gt, 'pred': args.pred, **results}, indent=2) + '\n',
                                  encoding='utf-8')
        print(f'metrics written to {args.out}')
    if args.per_image_csv:
        import csv
        rows = per_image_scores(args.gt, args.pred, args.score_thr)
        Path(args.per_image_csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.per_image_csv, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f'{len(rows)} per-image rows written to {args.per_image_csv}')


if __name__ == '__main__':
    run_cli(main)
