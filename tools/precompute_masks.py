"""Nucleus masks for the "Segmented" classifier inputs of spec 002 (Table 1, §2.4 hard attention).

    python tools/precompute_masks.py DATASET_ROOT [--method handcrafted]          # Algorithm 1 only
    python tools/precompute_masks.py DATASET_ROOT --config SEG_CONFIG --checkpoint SEG_CKPT
        [--method ensemble | deep] [--device cuda:0] [--min-area 150] [--overwrite]

For every image ``DATASET_ROOT/images/<class>/<file>`` of a classification dataset (the layout
of tools/dataset_converters/class_folders.py), writes ``DATASET_ROOT/nucleus_masks/<class>/<stem>.png``
(uint8, 255 = nucleus, 0 = rest, the image's size), which the ``MaskOutsideNucleus`` transform
of the Segmented configs reads. Methods (spec 002 §2.1-2.3, Table 3's HM / DEEP / Ensemble):

* ``handcrafted`` (default without ``--config``): Algorithm 1 with Table A1's parameters,
  :func:`hemaseg.handcrafted.segment_nucleus_handcrafted`;
* ``ensemble`` (default with ``--config``): the paper's mask, Eq. 12 (handcrafted AND deep) then
  the area opening (``--min-area``, Table A1's 150 px), :func:`hemaseg.handcrafted.ensemble_nucleus_mask`;
* ``deep``: the segmentation model alone (its ``nucleus`` class).

The deep mask comes from an mmseg config + checkpoint (e.g. the MONAI U-Net of §2.2) through
``mmseg.apis.init_model`` / ``inference_model``, at the image's resolution. Images are decoded
as MMPretrain's ``LoadImageFromFile`` decodes them (OpenCV, colour, EXIF orientation applied),
so masks and training inputs have the same size and orientation.

``nucleus_masks/meta.json`` records the method (and config/checkpoint); a re-run with the same
settings skips the masks already written (an interrupted run resumes), a run with other settings
stops unless ``--overwrite`` is given, so one folder never mixes methods. Unreadable images are
listed at the end and make the exit status 1. Empty masks (no nucleus found: the classifier
would see a black image) are counted, named and listed in ``nucleus_masks/empty_masks.txt``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from _common import REPO_ROOT  # noqa: F401  (repo root on sys.path)

MASK_DIR = 'nucleus_masks'
META = 'meta.json'
EMPTY_LIST = 'empty_masks.txt'
PROGRESS_EVERY = 100
SHOWN = 20


def list_images(root: str) -> list:
    """Relative paths (``<class>/<file>``, sorted) of every image under ``root/images``."""
    from hemaseg.data.annotations import IMAGE_EXTS
    images = osp.join(root, 'images')
    if not osp.isdir(images):
        raise SystemExit(f'error: {images} does not exist; DATASET_ROOT must be a classification dataset made by '
                         'tools/dataset_converters/class_folders.py (or all_idb2.py --task classification)')
    found = []
    for folder, dirs, files in os.walk(images):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in files:
            if not name.startswith('.') and name.lower().endswith(IMAGE_EXTS):
                found.append(osp.relpath(osp.join(folder, name), images))
    if not found:
        raise SystemExit(f'error: no images ({", ".join(IMAGE_EXTS)}) under {images}')
    found.sort()
    by_mask = {}
    for rel in found:
        by_mask.setdefault(mask_relpath(rel), []).append(rel)
    clashes = [v for v in by_mask.values() if len(v) > 1]
    if clashes:
        raise SystemExit(f'error: images sharing a file stem in one folder would share a mask: {clashes[:5]}')
    return found


def mask_relpath(rel: str) -> str:
    return osp.splitext(rel)[0] + '.png'


def read_bgr(path: str):
    """The image as MMPretrain's LoadImageFromFile (mmcv, cv2 backend, 'color') decodes it; None if unreadable."""
    import cv2
    import numpy as np
    data = np.fromfile(path, dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


class DeepNucleusSegmenter:
    """``mask(path, shape) -> bool HxW``: the nucleus class of an mmseg model, at the image's size."""

    def __init__(self, config: str, checkpoint: str, device: str):
        from mmseg.apis import init_model

        import mmseg_plugins  # noqa: F401  (the project's segmentors, datasets, allow-list)
        self.model = init_model(config, checkpoint, device=device)
        classes = list((self.model.dataset_meta or {}).get('classes') or [])
        if 'nucleus' in classes:
            self.nucleus = classes.index('nucleus')
        elif len(classes) == 2:
            self.nucleus = 1
            print(f'warning: {config} has no class named "nucleus" ({classes}); using class 1 ({classes[1]!r})')
        else:
            raise SystemExit(f'error: {config} has no class named "nucleus" among {classes}; give a nucleus '
                             'segmentation config')

    def mask(self, path: str, shape) -> 'np.ndarray':
        from mmseg.apis import inference_model
        # The path, not the array: the model's pipeline decodes it like its training images,
        # and the project's ensemble segmentor reads the original image from img_path.
        result = inference_model(self.model, path)
        pred = result.pred_sem_seg.data[0].cpu().numpy()
        if pred.shape != tuple(shape):
            raise RuntimeError(f'{path}: segmentation is {pred.shape}, image is {tuple(shape)}')
        return pred == self.nucleus


def settings_of(args) -> dict:
    s = dict(method=args.method, min_area=args.min_area if args.method == 'ensemble' else None)
    if args.method != 'handcrafted':
        s.update(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint))
    return s


def check_existing(out_dir: str, settings: dict, overwrite: bool) -> None:
    meta_path = osp.join(out_dir, META)
    if overwrite or not osp.isdir(out_dir):
        return
    if not osp.isfile(meta_path):
        if any(files for _, _, files in os.walk(out_dir)):
            raise SystemExit(f'error: {out_dir} holds files but no {META} saying how they were made; '
                             'pass --overwrite to replace them')
        return
    with open(meta_path) as f:
        old = json.load(f).get('settings')
    if old != settings:
        raise SystemExit(f'error: the masks in {out_dir} were made with {old}, not {settings}; pass --overwrite to '
                         'replace them (a folder never mixes methods)')


def write_meta(out_dir: str, settings: dict, **extra) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, META), 'w') as f:
        json.dump(dict(settings=settings, **extra), f, indent=2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('root', help='classification dataset folder (with images/<class>/<file>)')
    ap.add_argument('--method', choices=('handcrafted', 'ensemble', 'deep'),
                    help='default: handcrafted, or ensemble when --config is given')
    ap.add_argument('--config', help='mmseg nucleus segmentation config (ensemble / deep)')
    ap.add_argument('--checkpoint', help='its checkpoint')
    ap.add_argument('--device', default='cpu', help='device of the segmentation model (default cpu)')
    ap.add_argument('--min-area', type=int, default=150,
                    help='ensemble: area opening after the AND, in pixels (default 150, Table A1)')
    ap.add_argument('--overwrite', action='store_true', help='recompute every mask (default: keep those written '
                    'by an earlier run with the same settings)')
    args = ap.parse_args(argv)
    args.method = args.method or ('ensemble' if args.config else 'handcrafted')
    if args.method == 'handcrafted' and (args.config or args.checkpoint):
        sys.exit('error: --method handcrafted takes no --config/--checkpoint (use --method ensemble or deep)')
    if args.method != 'handcrafted':
        if not (args.config and args.checkpoint):
            sys.exit(f'error: --method {args.method} needs --config SEG_CONFIG and --checkpoint CKPT')
        for path in (args.config, args.checkpoint):
            if not osp.isfile(path):
                sys.exit(f'error: {path} does not exist')
    if args.min_area < 0:
        sys.exit(f'error: --min-area must be >= 0, got {args.min_area}')

    import cv2
    import numpy as np

    from hemaseg.handcrafted import ensemble_nucleus_mask, segment_nucleus_handcrafted

    files = list_images(args.root)
    out_dir = osp.join(args.root, MASK_DIR)
    settings = settings_of(args)
    check_existing(out_dir, settings, args.overwrite)
    deep = DeepNucleusSegmenter(args.config, args.checkpoint, args.device) if args.method != 'handcrafted' else None
    write_meta(out_dir, settings, complete=False)
    print(f'{len(files)} images in {osp.join(args.root, "images")}: {args.method} nucleus masks -> {out_dir}')

    def nucleus_mask(src):
        """The mask of one image (bool HxW); ValueError / RuntimeError naming what failed."""
        bgr = read_bgr(src)
        if bgr is None:
            raise ValueError('cannot be decoded (empty, corrupt or unsupported format)')
        if args.method == 'deep':
            return deep.mask(src, bgr.shape[:2])
        mask = segment_nucleus_handcrafted(np.ascontiguousarray(bgr[:, :, ::-1]))
        if deep is not None:
            mask = ensemble_nucleus_mask(mask, deep.mask(src, bgr.shape[:2]), min_area=args.min_area)
        return mask

    failed, empty, written, kept = [], [], 0, 0
    start = time.time()
    for i, rel in enumerate(files, 1):
        src = osp.join(args.root, 'images', rel)
        target = osp.join(out_dir, mask_relpath(rel))
        mask = cv2.imread(target, cv2.IMREAD_GRAYSCALE) if not args.overwrite and osp.isfile(target) else None
        if mask is not None:
            kept += 1
        else:
            try:
                mask = nucleus_mask(src)
            except (ValueError, RuntimeError) as e:
                failed.append((src, str(e)))
                mask = None
            if mask is not None:
                os.makedirs(osp.dirname(target), exist_ok=True)
                if not cv2.imwrite(target, mask.astype(np.uint8) * 255):
                    sys.exit(f'error: could not write {target}')
                written += 1
        if mask is not None and not mask.any():
            empty.append(rel)
        if i % PROGRESS_EVERY == 0 or i == len(files):
            rate = (time.time() - start) / max(written, 1)
            print(f'[{i}/{len(files)}] {written} written, {kept} kept, {len(empty)} empty, {len(failed)} failed '
                  f'({rate:.2f} s per computed mask)', flush=True)

    with open(osp.join(out_dir, EMPTY_LIST), 'w') as f:
        f.writelines(f'{rel}\n' for rel in empty)
    write_meta(out_dir, settings, complete=not failed, num_images=len(files), written=written, kept=kept,
               failed=len(failed), empty=len(empty))
    print(f'{written} mask(s) written, {kept} kept from an earlier run, in {out_dir}')
    if empty:
        shown = ', '.join(empty[:SHOWN]) + (f' ... (all in {osp.join(out_dir, EMPTY_LIST)})' if len(empty) > SHOWN
                                            else '')
        print(f'warning: {len(empty)} of {len(files)} masks are empty (no nucleus found): the Segmented classifier '
              f'sees these images as black: {shown}', file=sys.stderr)
    if failed:
        print(f'{len(failed)} image(s) failed:', file=sys.stderr)
        for path, why in failed:
            print(f'  {path}: {why}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
