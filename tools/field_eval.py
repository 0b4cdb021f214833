#!/usr/bin/env python
"""Whole-field nucleus benchmark: build composite fields with full ground truth, then score a model on them.

    # fields from the test split of a converted nucleus dataset (cells) and nucleus-free regions
    # of its labelled images (backgrounds); seeded, test-split cells only
    python tools/field_eval.py build data/wbc_nucleus --split fold0_test --out fields/wbc_fold0 \\
        [--num-fields 20] [--size 512 512] [--cells 6 10] [--seed 0] [--background-split fold0_test]

    # a model (tools/infer.py's whole-field mode), optionally gated by the handcrafted mask; "both"
    # scores one inference per field ungated (OUT/gate-none) and gated (OUT/gate-handcrafted)
    python tools/field_eval.py score CONFIG CHECKPOINT fields/wbc_fold0 [--gate handcrafted|both] --out OUT

    # real fields without masks: the handcrafted mask as a weak reference (not for gated models)
    python tools/field_eval.py score CONFIG CHECKPOINT FIELD_DIR --reference handcrafted --out OUT

    # before/after pictures: the overlays of several score runs side by side, one row per field
    python tools/field_eval.py figure OUT_A=single-crop OUT_B=fields --fields f1 f2 --out fig.png

``build`` writes ``images/``, ``masks/`` (0/1), ``fields.json`` (every pasted cell: source image,
place, scale) and ``backgrounds.png``, a contact sheet of the background patches to check by eye that
no unlabelled white cell hides in them. ``score`` prints and writes per field (``OUT/field_scores.csv``,
one row per field keyed "image", so that ``tools/compare.py --kind det --metric false_positives``
pairs two models' fields) the predicted components, false-positive components (< 10 % of the area on
the reference), reference nuclei found (>= 50 % covered) and Dice, and over all fields
(``OUT/summary.json``) the false positives per field and the nucleus recall (``hemaseg.field_eval``);
``OUT/overlays/`` shows each field with the reference outlined and the false positives in red,
``OUT/predictions/`` holds the masks.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import os.path as osp
import sys



def read_split(root: str, split: str) -> list:
    path = osp.join(root, 'splits', f'{split}.txt')
    if not osp.isfile(path):
        raise SystemExit(f'error: {path} does not exist (splits of {root}: '
                         f'{", ".join(sorted(f[:-4] for f in os.listdir(osp.join(root, "splits"))))})'
                         if osp.isdir(osp.join(root, 'splits')) else f'error: {path} does not exist')
    stems = [s.strip() for s in open(path, encoding='utf-8') if s.strip()]
    if not stems:
        raise SystemExit(f'error: {path} lists no image')
    return stems


def build(args) -> None:
    import numpy as np

    from hemaseg.data.io import read_image, read_mask, write_image, write_mask
    from hemaseg.field_eval import build_composite_field, cell_cutout, nucleus_free_patches
    from hemaseg.viz import side_by_side

    cells, backgrounds, sources = [], [], []
    stems = read_split(args.data, args.split)
    background_stems = read_split(args.data, args.background_split or args.split)
    if args.prefix:
        stems = [s for s in stems if s.startswith(args.prefix)]
        background_stems = [s for s in background_stems if s.startswith(args.prefix)]
        if not stems:
            raise SystemExit(f'error: no image of {args.split} starts with {args.prefix!r}')
    for stem in sorted(set(stems) | set(background_stems)):
        image = read_image(osp.join(args.data, 'images', f'{stem}.png'))
        mask = read_mask(osp.join(args.data, 'masks', f'{stem}.png'))
        if stem in stems:
            if (mask == 1).any():
                cells.append(cell_cutout(image, mask, context=args.context))
                sources.append(stem)
            else:
                print(f'{stem}: no nucleus in its mask, not used as a cell')
        if stem in background_stems:
            backgrounds += nucleus_free_patches(image, mask, args.patch, args.margin, margin_factor=args.margin_factor)
    if not cells:
        raise SystemExit(f'error: no image of {args.split} has a nucleus')
    if not backgrounds:
        raise SystemExit(f'error: no {args.patch}x{args.patch} region without nucleus (margin {args.margin} + {args.margin_factor} x nucleus diameter) in '
                         f'{args.background_split or args.split}; try a smaller --patch or --margin')
    print(f'{len(cells)} cells from {args.split}, {len(backgrounds)} nucleus-free {args.patch}x{args.patch} '
          f'background patches from {args.background_split or args.split}')
    rng = np.random.default_rng(args.seed)
    record = dict(data=args.data, split=args.split, background_split=args.background_split or args.split,
                  seed=args.seed, size=args.size, cells=args.cells, scale_range=args.scale_range,
                  patch=args.patch, margin=args.margin, margin_factor=args.margin_factor, prefix=args.prefix,
                  context=args.context, fields=[])
    for k in range(args.num_fields):
        n = int(rng.integers(args.cells[0], args.cells[1] + 1))
        rgb, truth, placed = build_composite_field(rng, cells, backgrounds, tuple(args.size), n,
                                                   tuple(args.scale_range))
        name = f'field_{k:03d}'
        write_image(osp.join(args.out, 'images', f'{name}.png'), rgb)
        write_mask(osp.join(args.out, 'masks', f'{name}.png'), truth.astype(np.uint8))
        for p in placed:
            p['source'] = sources[p.pop('cell')]
        record['fields'].append(dict(name=name, cells=placed))
        print(f'[{k + 1}/{args.num_fields}] {name}: {len(placed)} of {n} cells placed')
    show = [backgrounds[i] for i in np.linspace(0, len(backgrounds) - 1, min(32, len(backgrounds))).astype(int)]
    sheet = np.concatenate([side_by_side(show[i:i + 8] + [np.zeros_like(show[0])] * (8 - len(show[i:i + 8])))
                            for i in range(0, len(show), 8)], axis=0)
    write_image(osp.join(args.out, 'backgrounds.png'), sheet)
    with open(osp.join(args.out, 'fields.json'), 'w', encoding='utf-8') as f:
        json.dump(record, f, indent=1)
    print(f'{args.num_fields} fields written to {args.out} (check {osp.join(args.out, "backgrounds.png")} by eye)')


def field_images(fields: str) -> str:
    """The images of a fields folder: ``images/`` of a "build" output, else the folder itself."""
    return osp.join(fields, 'images') if osp.isdir(osp.join(fields, 'images')) else fields


def score(args) -> None:
    import numpy as np
    from mmengine.config import Config

    from hemaseg.data.annotations import IMAGE_EXTS
    from hemaseg.data.io import read_image, read_mask, write_image, write_mask
    from hemaseg.field_eval import draw_field_overlay, score_field, summarise
    from hemaseg.handcrafted import handcrafted_gate, segment_nucleus_handcrafted
    from mmseg_plugins.apis import WHOLE, Segmenter

    if args.gate != 'none' and args.reference == 'handcrafted':
        raise SystemExit('error: a model gated by the handcrafted mask contains that mask by construction; '
                         'score the gate on fields with ground truth (tools/field_eval.py build)')
    image_dir = field_images(args.fields)
    names = sorted(f for f in os.listdir(image_dir) if f.lower().endswith(IMAGE_EXTS))
    if not names:
        raise SystemExit(f'error: no images in {image_dir}')
    if args.reference == 'masks' and not osp.isdir(osp.join(args.fields, 'masks')):
        raise SystemExit(f'error: {args.fields} has no masks/ folder; pass --reference handcrafted for real fields')
    try:
        segmenter = Segmenter(Config.fromfile(args.config), args.checkpoint, device=args.device, scale=args.scale,
                              min_area=args.min_area)
    except ValueError as e:
        raise SystemExit(f'error: {e}') from None
    # one inference per field, scored once per gate variant ("both": ungated and gated side by side)
    variants = ['none', 'handcrafted'] if args.gate == 'both' else [args.gate]
    outs = {v: (osp.join(args.out, f'gate-{v}') if args.gate == 'both' else args.out) for v in variants}
    rows = {v: [] for v in variants}
    scores = {v: [] for v in variants}
    for i, name in enumerate(names, 1):
        rgb = read_image(osp.join(image_dir, name))
        stem = osp.splitext(name)[0]
        raw, _ = segmenter(rgb, WHOLE)
        if args.reference == 'masks':
            reference = read_mask(osp.join(args.fields, 'masks', stem + '.png')) == 1
        else:
            reference = segment_nucleus_handcrafted(rgb)
        line = []
        for v in variants:
            pred, removed = raw, ''
            if v == 'handcrafted':
                pred, report = handcrafted_gate(rgb, raw, 1, min_area=args.gate_min_area)
                removed = report.components_removed
            s = score_field(pred == 1, reference)
            scores[v].append(s)
            rows[v].append(dict(image=name, **s.as_dict(), gate_removed=removed))
            write_mask(osp.join(outs[v], 'predictions', stem + '.png'), (pred == 1).astype(np.uint8))
            write_image(osp.join(outs[v], 'overlays', stem + '.png'),
                        draw_field_overlay(rgb, pred == 1, reference,
                                           title=f'{name}: {s.false_positives} FP, {s.found}/{s.reference_nuclei} found'))
            line.append(f'{"gated: " if v == "handcrafted" else ""}{s.predicted_components} predicted component(s), '
                        f'{s.false_positives} false positive(s); {s.found} of {s.reference_nuclei} nuclei found; '
                        f'Dice {s.dice:.4f}' + (f'; gate removed {removed}' if removed != '' else ''))
        print(f'[{i}/{len(names)}] {name}: ' + ' | '.join(line), flush=True)
    for v in variants:
        total = summarise(scores[v])
        total.update(config=args.config, checkpoint=args.checkpoint, gate=v, reference=args.reference,
                     fields_dir=args.fields, scale=list(segmenter.settings['scale']),
                     min_area=segmenter.settings['min_area'])
        os.makedirs(outs[v], exist_ok=True)
        with open(osp.join(outs[v], 'field_scores.csv'), 'w', newline='', encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[v][0]))
            writer.writeheader()
            writer.writerows(rows[v])
        with open(osp.join(outs[v], 'summary.json'), 'w', encoding='utf-8') as f:
            json.dump(total, f, indent=1)
        print(f'{total["fields"]} fields: {total["false_positives_per_field"]:.3f} false-positive components per field '
              f'({total["false_positives"]} of {total["predicted_components"]}), nucleus recall {total["recall"]:.3f} '
              f'({total["found"]} of {total["reference_nuclei"]}), mean Dice {total["mean_dice"]:.4f} '
              f'[reference: {args.reference}; gate: {v}]; written to {outs[v]} (overlays/, predictions/)')


def figure(args) -> None:
    import numpy as np

    from hemaseg.data.io import read_image, write_image
    from hemaseg.viz import draw_title, side_by_side

    runs = []
    for spec in args.runs:
        path, _, label = spec.partition('=')
        if not osp.isdir(osp.join(path, 'overlays')):
            raise SystemExit(f'error: {path} has no overlays/ folder (a "score" output directory)')
        runs.append((path, label or osp.basename(path.rstrip('/'))))
    names = args.fields or sorted(osp.splitext(f)[0] for f in os.listdir(osp.join(runs[0][0], 'overlays')))[:4]
    image_dir = None
    if args.show_image:  # the field itself first, from the folder the first run scored
        summary = osp.join(runs[0][0], 'summary.json')
        if not osp.isfile(summary):
            raise SystemExit(f'error: {summary} does not exist (needed for --show-image)')
        image_dir = field_images(json.load(open(summary, encoding='utf-8'))['fields_dir'])
    rows = []
    for stem in names:
        panels = []
        if image_dir is not None:
            found = [f for f in os.listdir(image_dir) if osp.splitext(f)[0] == stem]
            if not found:
                raise SystemExit(f'error: no image named {stem}.* in {image_dir}')
            panels.append(draw_title(read_image(osp.join(image_dir, found[0])), f'{found[0]} (image)'))
        for path, label in runs:
            file = osp.join(path, 'overlays', stem + '.png')
            if not osp.isfile(file):
                raise SystemExit(f'error: {file} does not exist (fields of {path}: '
                                 f'{", ".join(sorted(os.listdir(osp.join(path, "overlays")))[:5])}, ...)')
            panels.append(draw_title(read_image(file), label))
        rows.append(side_by_side(panels))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    write_image(args.out, sheet)
    print(f'{len(names)} field(s) x {len(runs)} run(s) written to {args.out}')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='command', required=True)
    b = sub.add_parser('build', help='composite fields with ground truth')
    b.add_argument('data', help='a converted nucleus dataset (images/, masks/, splits/)')
    b.add_argument('--split', required=True, help='split whose cells are pasted (a test split: fold0_test)')
    b.add_argument('--background-split', help='split whose nucleus-free regions make the backgrounds (default: --split)')
    b.add_argument('--out', required=True)
    b.add_argument('--num-fields', type=int, default=20)
    b.add_argument('--size', type=int, nargs=2, default=(512, 512), metavar=('H', 'W'))
    b.add_argument('--cells', type=int, nargs=2, default=(6, 10), metavar=('MIN', 'MAX'), help='cells per field')
    b.add_argument('--scale-range', type=float, nargs=2, default=(0.9, 1.1), metavar=('LOW', 'HIGH'))
    b.add_argument('--patch', type=int, default=48, help='side of the background patches (px)')
    b.add_argument('--margin', type=int, default=8, help='distance a background patch keeps from any nucleus: this '
                   'many pixels ...')
    b.add_argument('--margin-factor', type=float, default=1.0, help='... plus this times the equivalent diameter of '
                   'the image\'s nucleus area (nucleus masks leave the cytoplasm unlabelled)')
    b.add_argument('--prefix', help='use only images whose name starts with this (WBC: d1_ or d2_, the two '
                   'sub-datasets, which differ in magnification)')
    b.add_argument('--context', type=float, default=1.8, help='cell cut-out: nucleus box grown this many times')
    b.add_argument('--seed', type=int, default=0)
    s = sub.add_parser('score', help='score a model on fields')
    s.add_argument('config')
    s.add_argument('checkpoint')
    s.add_argument('fields', help='a folder from "build" (images/, masks/) or a folder of real field images')
    s.add_argument('--out', required=True)
    s.add_argument('--reference', choices=('masks', 'handcrafted'), default='masks')
    s.add_argument('--gate', choices=('none', 'handcrafted', 'both'), default='none',
                   help='"both": one inference per field, scored ungated (OUT/gate-none) and gated (OUT/gate-handcrafted)')
    s.add_argument('--gate-min-area', type=int, default=150)
    s.add_argument('--scale', type=float, help='whole-field scale (default: from the config, as tools/infer.py)')
    s.add_argument('--min-area', type=float, help='remove predicted components under this many network-input pixels '
                   '(default: the config\'s inference.min_area, else 0; as tools/infer.py)')
    s.add_argument('--device', default='cpu')
    f = sub.add_parser('figure', help='overlays of several "score" runs side by side, one row per field')
    f.add_argument('runs', nargs='+', help='score output directories, each optionally DIR=LABEL')
    f.add_argument('--fields', nargs='+', help='field names without extension (default: the first 4)')
    f.add_argument('--show-image', action='store_true', help='put the field itself, without overlay, first')
    f.add_argument('--out', required=True, help='the image to write (.png, .jpg)')
    args = ap.parse_args(argv)
    if args.command == 'figure':
        figure(args)
    elif args.command == 'build':
        if args.num_fields < 1 or min(args.size) < 1 or not 0 <= args.cells[0] <= args.cells[1]:
            raise SystemExit('error: need --num-fields >= 1, a positive --size and 0 <= MIN <= MAX cells')
        if not 0 < args.scale_range[0] <= args.scale_range[1] or args.patch < 1 or args.margin < 0:
            raise SystemExit('error: need 0 < LOW <= HIGH (--scale-range), --patch >= 1 and --margin >= 0')
        build(args)
    else:
        for path in (args.config, args.checkpoint):
            if not osp.isfile(path):
                raise SystemExit(f'error: {path} does not exist')
        score(args)


if __name__ == '__main__':
    sys.exit(main())
