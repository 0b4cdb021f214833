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

from hemaseg.cam import CAM_METHODS
from mmpretrain_plugins.apis import SPLITS, add_model_args, cam_energy_split, parse_target_class


def main(argv=None):
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
    cam_energy_split(args.config, args.checkpoint, args.split, args.masks_root, args.out, args.methods,
                     args.target_layer, args.target_class, args.device, args.cfg_options)


if __name__ == '__main__':
    main()
