"""Handcrafted WBC nucleus masks (spec 002 Algorithm 1, Table A1) for image files; no model needed.

    python tools/handcrafted_nucleus.py IMAGE_OR_DIR [...] --out DIR [--overlay-dir DIR]
        [--no-dilation | --dilation N] [--min-area N] [--progress-every N]

Writes ``DIR/<name>.png`` for every readable input: a single-channel mask, 255 = nucleus,
0 = rest, at the input's size. ``--overlay-dir`` also writes the image with the mask's contour.
Folders are searched non-recursively for .png/.jpg/.jpeg/.bmp/.tif/.tiff. ``<name>`` is the
file stem; inputs sharing a stem (``a/x.png``, ``b/x.png``) are named by their path relative to
their common folder (``a/x``, ``b/x``), and the mapping is printed, so nothing is overwritten.
Masks are written by :func:`hemaseg.mask_folder.write_handcrafted_masks`, with the rule of
``tools/precompute_masks.py``: an unreadable input is skipped and listed on stderr with the reason,
the others are processed, and the exit status is then 1 (also when nothing was found); empty masks
(nothing found) are written, and named and counted in a warning.

Parameters default to Table A1 (see hemaseg/handcrafted.py for the readings of the paper's gaps):
``--no-dilation`` drops the final dilation (spec 002 ambiguity #4), ``--dilation 4`` is the
paper's value for Raabin basophils.
"""
import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    from hemaseg.handcrafted import HandcraftedParams
    defaults = HandcraftedParams()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    p.add_argument('--out', required=True, help='folder for the 0/255 masks')
    p.add_argument('--overlay-dir', help='also write contour overlays here')
    dil = p.add_mutually_exclusive_group()
    dil.add_argument('--no-dilation', action='store_true', help='no final dilation (same as --dilation 0)')
    dil.add_argument('--dilation', type=int, default=defaults.dilation,
                     help=f'side of the square final dilation, 0 = none (default {defaults.dilation}, Table A1)')
    p.add_argument('--min-area', type=int, default=defaults.min_area,
                   help=f'area filter: smaller components are removed (default {defaults.min_area} px, Table A1)')
    p.add_argument('--progress-every', type=int, default=50, metavar='N', help='progress line every N images')
    args = p.parse_args(argv)
    if args.min_area < 0 or args.dilation < 0 or args.progress_every < 1:
        p.error('--min-area and --dilation must be >= 0 and --progress-every >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hemaseg.data.annotations import IMAGE_EXTS
    from hemaseg.handcrafted import HandcraftedParams
    from hemaseg.instance_inference import collect_images, describe_renames, output_names
    from hemaseg.mask_folder import MaskJob, write_handcrafted_masks

    params = HandcraftedParams(min_area=args.min_area, dilation=0 if args.no_dilation else args.dilation)
    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files:
        for path, why in failed:
            print(f'error: {path}: {why}', file=sys.stderr)
        print(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}', file=sys.stderr)
        return 1
    names = output_names(files)
    for line in describe_renames(files, names):
        print(line)
    print(f'{len(files)} image(s); parameters: {params}')
    jobs = [MaskJob(path, osp.join(args.out, f'{name}.png'), path,
                    osp.join(args.overlay_dir, f'{name}.png') if args.overlay_dir else None)
            for path, (name, _) in zip(files, names)]
    run = write_handcrafted_masks(jobs, params, progress_every=args.progress_every)
    run.failed[:0] = failed
    return run.report(f'to {args.out}' + (f', overlays to {args.overlay_dir}' if args.overlay_dir else ''))


if __name__ == '__main__':
    sys.exit(main())
