"""Segment images with a trained checkpoint: label masks and contour overlays out.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_DIR [...] --out DIR [--device cuda:0]

Writes ``DIR/masks/<stem>.png`` (class indices) and ``DIR/overlays/<stem>.png``.
Unreadable inputs are listed at the end and make the exit status 1; none is skipped silently.
"""
import argparse
import os
import os.path as osp
import sys

from _common import REPO_ROOT  # noqa: F401  (repo root on sys.path)

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def collect_inputs(paths):
    files, missing = [], []
    for p in paths:
        if osp.isdir(p):
            files += sorted(osp.join(p, f) for f in os.listdir(p) if f.lower().endswith(IMAGE_EXTS))
        elif osp.isfile(p):
            files.append(p)
        else:
            missing.append(p)
    return files, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--out', required=True)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--label', type=int, default=1, help='class whose contour is drawn (default 1: nucleus)')
    args = ap.parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: {path} does not exist')
    files, failed = collect_inputs(args.inputs)
    failed = [(p, 'no such file or folder') for p in failed]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')

    import cv2
    from mmseg.apis import inference_model, init_model

    import mmseg_plugins  # noqa: F401
    from hemaseg.data.io import DatasetError, read_image
    from hemaseg.viz import draw_contour_overlay

    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(osp.join(args.out, 'masks'), exist_ok=True)
    os.makedirs(osp.join(args.out, 'overlays'), exist_ok=True)
    for i, path in enumerate(files, 1):
        try:
            rgb = read_image(path)
        except DatasetError as e:
            failed.append((path, str(e)))
            continue
        pred = inference_model(model, rgb[:, :, ::-1].copy()).pred_sem_seg.data[0].cpu().numpy().astype('uint8')
        stem = osp.splitext(osp.basename(path))[0]
        cv2.imwrite(osp.join(args.out, 'masks', f'{stem}.png'), pred)
        overlay = draw_contour_overlay(rgb, pred, None, label=args.label)
        cv2.imwrite(osp.join(args.out, 'overlays', f'{stem}.png'), overlay[:, :, ::-1])
        print(f'[{i}/{len(files)}] {path}: {int((pred == args.label).sum())} pixels of class {args.label}')
    print(f'{len(files) - len([f for f in failed if f[0] in files])} image(s) written to {args.out}')
    if failed:
        print(f'{len(failed)} input(s) failed:', file=sys.stderr)
        for path, why in failed:
            print(f'  {path}: {why}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
