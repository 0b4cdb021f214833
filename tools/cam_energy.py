"""Share of CAM energy on the nucleus over a dataset split (spec 002 §2.5, §7.4: puts a number on
the paper's qualitative "segmented models focus on the nucleus", Figs. 8-10).

    python tools/cam_energy.py CONFIG CHECKPOINT [--split test] [--masks-root DIR] [--out DIR]
        [--methods gradcam gradcam++ hirescam xgradcam] [--target-layer NAME]
        [--target-class predicted|true|N] [--device cpu] [--cfg-options KEY=VALUE ...]

For every image of the split (``{split}_dataloader`` of the config, preprocessed with the test
pipeline) and every method: the CAM of the target class (default: predicted, spec §2.7 #10;
``true`` = the label) as ``tools/explain.py`` computes it, and ``hemaseg.cam_energy``:
``energy_inside = sum(CAM * mask) / sum(CAM)`` and the mask's ``area_share`` (what a uniform,
non-localising CAM would score) and ``lift = energy_inside / area_share`` (1 = no preference
for the nucleus).

Masks: ``<masks-root>/<class>/<stem>.png`` (0/255) for ``<img_prefix>/<class>/<file>``;
``--masks-root`` defaults to ``<data_root>/nucleus_masks``. A missing mask is an error naming
it (all are checked before anything runs). The comparison happens at the network input: each
mask goes through the same geometric test-pipeline steps as its image (ResizeEdge, CenterCrop,
...; see ``mmpretrain_plugins.apis.MaskGeometry``), because a CAM upsampled back to the original image could
not cover what a centre crop cut off.

Writes ``DIR/per_image.csv`` (one row per image), ``DIR/summary.json`` (per method: mean and
median of each number, images with an all-zero CAM counted as undefined) and prints the table.
"""
import argparse
import csv
import json
import math
import os
import os.path as osp
import time

from mmpretrain_plugins.apis import (SPLITS, Classifier, MaskGeometry, add_model_args, build_split, explain_input,
                         load_cls_config, mask_path_for, parse_target_class, target_layer)


def nan_to_none(value):
    """JSON has no NaN: undefined numbers (all-zero CAMs) become null."""
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def main(argv=None):
    from hemaseg.cam import CAM_METHODS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    ap.add_argument('--split', choices=SPLITS, default='test')
    ap.add_argument('--masks-root', help='folder of <class>/<stem>.png nucleus masks (default: '
                    '<data_root>/nucleus_masks of the split\'s dataset)')
    ap.add_argument('--out', help='output folder (default: work_dirs/cam_energy/CONFIG_NAME)')
    ap.add_argument('--methods', nargs='+', choices=list(CAM_METHODS), default=list(CAM_METHODS))
    ap.add_argument('--target-layer', help='dotted module name, e.g. backbone.layer4.2 (default: found from the model)')
    ap.add_argument('--target-class', type=lambda v: parse_target_class(v, ('predicted', 'true')),
                    default='predicted', help="'predicted' (default), 'true' or a class index")
    args = ap.parse_args(argv)

    from hemaseg.cam_energy import energy_stats, summarize_energy

    cfg = load_cls_config(args)
    out = args.out or osp.join('work_dirs', 'cam_energy', osp.splitext(osp.basename(args.config))[0])
    dataset, ds_cfg = build_split(cfg, args.split)
    masks_root = args.masks_root
    if not masks_root:
        if not ds_cfg.get('data_root'):
            raise SystemExit(f'error: the {args.split} dataset has no data_root; pass --masks-root')
        masks_root = osp.join(ds_cfg['data_root'], 'nucleus_masks')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    mask_paths = [mask_path_for(info['img_path'], dataset, masks_root) for info in infos]
    missing = [(info['img_path'], m) for info, m in zip(infos, mask_paths) if not osp.isfile(m)]
    if missing:
        listed = '\n'.join(f'  {m} (for {img})' for img, m in missing[:10])
        more = f'\n  ... and {len(missing) - 10} more' if len(missing) > 10 else ''
        raise SystemExit(f'error: {len(missing)} of {len(infos)} nucleus masks missing under {masks_root}:\n'
                         f'{listed}{more}')

    clf = Classifier(cfg, args.checkpoint, args.device)
    clf.use_dataset_classes(dataset)
    geometry = MaskGeometry(clf.pipeline_cfg)
    print(f'{args.split} split: {len(infos)} images; masks from {masks_root} through '
          f'{" -> ".join(geometry.applied) or "no geometric step"}'
          + (f' (skipped, value-only: {", ".join(geometry.skipped)})' if geometry.skipped else ''))

    rows, layer, t0 = [], None, time.perf_counter()
    for i, (info, mask_path) in enumerate(zip(infos, mask_paths), 1):
        try:
            data = clf.pipeline(dict(info))
        except Exception as e:  # mmcv raises assorted errors on unreadable files
            raise SystemExit(f'error: cannot read or preprocess {info["img_path"]}: {type(e).__name__}: {e}') from None
        x = clf.batch_inputs([data])
        if layer is None:
            layer_name, layer = target_layer(clf, args.target_layer, x)
            print(f'target layer: {layer_name}; methods: {", ".join(args.methods)}; target class: {args.target_class}')
        result = explain_input(clf, layer, x, args.methods, args.target_class, true_label=info.get('gt_label'))
        names = clf.names_for(len(result['probs']))
        mask = geometry(mask_path, tuple(data['data_samples'].ori_shape), tuple(x.shape[-2:]))
        row = {'image': info['img_path'], 'mask': mask_path, 'true': names[int(info['gt_label'])]
               if info.get('gt_label') is not None else '', 'predicted': names[result['pred']],
               'target': names[result['target']], 'p_target': float(result['probs'][result['target']])}
        for m in args.methods:
            s = energy_stats(result['cams'][m], mask)
            row['area_share'] = s['area_share']
            row[f'energy_{m}'] = s['energy_inside']
            row[f'lift_{m}'] = s['lift']
        rows.append(row)
        if i == len(infos) or i % max(1, len(infos) // 10) == 0:
            print(f'[{i}/{len(infos)}] {time.perf_counter() - t0:.1f} s')

    summary = {'config': args.config, 'checkpoint': args.checkpoint, 'split': args.split, 'masks_root': masks_root,
               'target_layer': layer_name, 'target_class': args.target_class,
               'mask_geometry': geometry.applied, 'num_images': len(rows), 'methods': {}}
    for m in args.methods:
        summary['methods'][m] = summarize_energy([{'energy_inside': r[f'energy_{m}'], 'area_share': r['area_share'],
                                                   'lift': r[f'lift_{m}']} for r in rows])
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'per_image.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(nan_to_none(summary), f, indent=2)

    print(f'\nCAM energy inside the nucleus mask ({args.split}, {len(rows)} images; uniform CAM = area share)')
    print(f'{"method":<12}{"mean":>8}{"median":>8}{"area":>8}{"lift":>8}{"undef":>7}')
    for m, s in summary['methods'].items():
        print(f'{m:<12}{s["mean_energy_inside"]:8.3f}{s["median_energy_inside"]:8.3f}{s["mean_area_share"]:8.3f}'
              f'{s["median_lift"]:8.2f}{s["n_undefined"]:7d}')
    print(f'(lift: median of energy / area share per image)\nwritten to {out}')


if __name__ == '__main__':
    main()
