"""Masks for the "Segmented" classifier inputs: nucleus masks of spec 002 (Table 1, §2.4 hard
attention), whole-cell masks of ALL-FABNET (spec 003 §2.6) and of R-Mask R-CNN (spec 004 §2.3).

    python tools/precompute_masks.py DATASET_ROOT [--method handcrafted]          # Algorithm 1 only
    python tools/precompute_masks.py DATASET_ROOT --config SEG_CONFIG --checkpoint SEG_CKPT
        [--method ensemble | deep] [--label CLASS] [--score-thr 0.5] [--device cuda:0] [--min-area 150]
        [--mask-dir-name nucleus_masks] [--overwrite]

For every image ``DATASET_ROOT/images/<class>/<file>`` of a classification dataset (the layout
of tools/dataset_converters/class_folders.py), writes ``DATASET_ROOT/nucleus_masks/<class>/<stem>.png``
(uint8, 255 = nucleus, 0 = rest, the image's size), which the ``MaskOutsideNucleus`` transform
of the Segmented configs reads. ``--mask-dir-name`` writes another folder instead, so that
several kinds of masks coexist, e.g. the ALL-FABNET whole-cell masks read by
``configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-fabnet-masked-224x224.py``::

    python tools/precompute_masks.py data/all_idb2_cls --method deep --mask-dir-name cell_masks \\
        --config configs/all_fabnet/all-fabnet_densenet169_1xb8-4k_all-idb2-wholecell-256x256.py --checkpoint FABNET_CKPT

Methods (spec 002 §2.1-2.3, Table 3's HM / DEEP / Ensemble):

* ``handcrafted`` (default without ``--config``): Algorithm 1 with Table A1's parameters,
  :func:`hemaseg.handcrafted.segment_nucleus_handcrafted`;
* ``ensemble`` (default with ``--config``): the paper's mask, Eq. 12 (handcrafted AND deep) then
  the area opening (``--min-area``, Table A1's 150 px), :func:`hemaseg.handcrafted.ensemble_nucleus_mask`;
* ``deep``: the segmentation model alone, no AND with Algorithm 1 (the ALL-FABNET and
  R-Mask R-CNN cell masks).

The deep mask comes from a config + checkpoint, at the image's resolution:

* an mmseg model (e.g. the MONAI U-Net of spec 002 §2.2, ALL-FABNET) through
  :class:`mmseg_plugins.apis.Segmenter`, as ``tools/infer.py`` runs it: the pixels predicted as
  class ``--label`` (a name or an index; default ``nucleus``, or class 1 of a two-class model such
  as ALL-FABNET's ``('background', 'cell')``). Binary models with one sigmoid channel
  (``out_channels=1``) work the same way: mmseg thresholds them into classes 0/1 itself
  (``decode_head.threshold``). An image larger than the config's largest single crop (its
  ``inference`` key) is segmented as a whole field: rescaled to the training pixel scale, sliding
  windows, mapped back (``--whole-field`` / ``--single-crop`` force one mode, ``--scale`` overrides
  the scale); every image is segmented under the same torch seed, so masks do not depend on the order;
* an mmdet instance-segmentation model (``default_scope = 'mmdet'``, e.g. R-Mask R-CNN): the
  union of the instance masks scoring at least ``--score-thr`` (default 0.5), the "segmented
  image" that ``tools/classify_instances.py --mode mask`` classifies.

Images are decoded as MMPretrain's ``LoadImageFromFile`` decodes them (OpenCV, colour, EXIF
orientation applied), so masks and training inputs have the same size and orientation.

``<mask dir>/meta.json`` records the method (and config/checkpoint/label or score threshold); a
re-run with the same settings skips the masks already written (an interrupted run resumes), a run
with other settings stops unless ``--overwrite`` is given, so one folder never mixes methods.
Masks are written by :mod:`hemaseg.mask_folder` (the rule of ``tools/handcrafted_nucleus.py`` too):
unreadable images are skipped, listed at the end and make the exit status 1; empty masks (nothing
found: the classifier would see a black image) are written, counted, named and listed in
``<mask dir>/empty_masks.txt``.
"""
import argparse
import json
import os
import os.path as osp
import sys

MASK_DIR = 'nucleus_masks'
META = 'meta.json'
EMPTY_LIST = 'empty_masks.txt'
PROGRESS_EVERY = 100


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


class DeepNucleusSegmenter:
    """``mask(path, rgb image) -> bool HxW``: one class of an mmseg model (``--label``, default the
    nucleus) through :class:`mmseg_plugins.apis.Segmenter`, at the image's size."""

    def __init__(self, args):
        from mmengine.config import Config

        from mmseg_plugins.apis import SINGLE, WHOLE, Segmenter
        try:
            self.segmenter = Segmenter(Config.fromfile(args.config), args.checkpoint, device=args.device,
                                       scale=args.scale)
        except ValueError as e:  # the config's inference key
            raise SystemExit(f'error: {e}') from None
        try:
            self.index, note = self.segmenter.class_index(args.label)
        except ValueError as e:
            raise SystemExit(f'error: --label {e}' if args.label is not None else f'error: {e} with --label') from None
        if note:
            print(f'note: {note}; --label chooses another')
        classes = self.segmenter.classes
        self.class_name = classes[self.index] if self.index < len(classes) else str(self.index)
        self.force = WHOLE if args.whole_field else SINGLE if args.single_crop else None

    def mask(self, path: str, rgb) -> 'np.ndarray':
        # The path goes along: the project's ensemble segmentor reads the original image from img_path.
        pred, _ = self.segmenter(rgb, self.segmenter.choose_mode(rgb.shape, self.force), img_path=path)
        return pred == self.index


class DeepInstanceSegmenter:
    """``mask(path, rgb image) -> bool HxW``: the union of an mmdet model's instance masks with a score
    of at least ``score_thr`` (``hemaseg.instance_classification.union_mask``)."""

    def __init__(self, config: str, checkpoint: str, device: str, score_thr: float):
        from mmengine.config import Config

        from mmdet_plugins.apis import mmdet_predictor
        self.predict = mmdet_predictor(Config.fromfile(config), checkpoint, device)
        self.score_thr = score_thr

    def mask(self, path: str, rgb) -> 'np.ndarray':
        from hemaseg.instance_classification import union_mask
        return union_mask(self.predict(rgb).keep(self.score_thr).masks, rgb.shape[:2])


def is_instance_config(config: str) -> bool:
    """True for an mmdet config (instance segmentation), False for an mmseg one."""
    from mmengine.config import Config
    return Config.fromfile(config).get('default_scope') == 'mmdet'


def settings_of(args, instance: bool = False) -> dict:
    """What meta.json records (a re-run with other settings needs --overwrite). The keys added for
    --label / --score-thr / --scale / --whole-field / --single-crop appear only with a deep model and
    only when given, so older folders still match."""
    s = dict(method=args.method, min_area=args.min_area if args.method == 'ensemble' else None)
    if args.method != 'handcrafted':
        s.update(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint))
        if instance:
            s['score_thr'] = args.score_thr
        else:
            if args.label is not None:
                s['label'] = args.label
            if args.scale is not None:
                s['scale'] = args.scale
            if args.whole_field or args.single_crop:
                s['seg_mode'] = 'whole-field' if args.whole_field else 'single-crop'
    return s


def check_mask_dir_name(name: str) -> str:
    """``--mask-dir-name``: one folder name next to images/ (not images/ or splits/ themselves)."""
    if not name or name in ('.', '..', 'images', 'splits') or '/' in name or '\\' in name or name.startswith('.'):
        raise argparse.ArgumentTypeError(f'expected a plain folder name other than images/splits, got {name!r}')
    return name


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
    ap.add_argument('--config', help='ensemble / deep: an mmseg segmentation config (nucleus, ALL-FABNET cell) or '
                    'an mmdet instance-segmentation config (R-Mask R-CNN)')
    ap.add_argument('--checkpoint', help='its checkpoint')
    ap.add_argument('--device', default='cpu', help='device of the segmentation model (default cpu)')
    ap.add_argument('--label', help='mmseg model: the class written as foreground, a name or an index (default: '
                    '"nucleus", or class 1 of a two-class model such as ALL-FABNET\'s "cell")')
    ap.add_argument('--score-thr', type=float, default=0.5,
                    help='mmdet model: minimum score of the instances whose masks are joined (default 0.5)')
    ap.add_argument('--mask-dir-name', type=check_mask_dir_name, default=MASK_DIR,
                    help=f'folder written next to images/ (default {MASK_DIR}; e.g. cell_masks for whole-cell '
                    'masks, read by MaskOutsideNucleus(mask_root=...))')
    from hemaseg.field_eval import add_field_mode_args
    add_field_mode_args(ap, 'mmseg model', "only for images larger than the config's largest crop")
    ap.add_argument('--min-area', type=int, default=150,
                    help='ensemble: area opening after the AND, in pixels (default 150, Table A1)')
    ap.add_argument('--overwrite', action='store_true', help='recompute every mask (default: keep those written '
                    'by an earlier run with the same settings)')
    args = ap.parse_args(argv)
    args.method = args.method or ('ensemble' if args.config else 'handcrafted')
    if args.method == 'handcrafted' and (args.config or args.checkpoint or args.label is not None):
        sys.exit('error: --method handcrafted takes no --config/--checkpoint/--label (use --method ensemble or deep)')
    if args.method != 'handcrafted':
        if not (args.config and args.checkpoint):
            sys.exit(f'error: --method {args.method} needs --config SEG_CONFIG and --checkpoint CKPT')
        for path in (args.config, args.checkpoint):
            if not osp.isfile(path):
                sys.exit(f'error: {path} does not exist')
    if args.min_area < 0:
        sys.exit(f'error: --min-area must be >= 0, got {args.min_area}')
    if not 0 <= args.score_thr <= 1:
        sys.exit(f'error: --score-thr must be in [0, 1], got {args.score_thr}')
    if args.scale is not None and not args.scale > 0:
        sys.exit(f'error: --scale must be positive, got {args.scale}')
    instance = args.method != 'handcrafted' and is_instance_config(args.config)
    if instance and args.label is not None:
        sys.exit('error: --label selects a class of a semantic-segmentation (mmseg) model; '
                 f'{args.config} is an instance-segmentation (mmdet) config: every instance counts')
    mmseg_only = [o for o, v in (('--scale', args.scale is not None), ('--whole-field', args.whole_field),
                                 ('--single-crop', args.single_crop)) if v]
    if mmseg_only and (instance or args.method == 'handcrafted'):
        sys.exit(f'error: {"/".join(mmseg_only)} apply to an mmseg segmentation model (--config) only')

    from hemaseg.data.io import read_image_as_loaded
    from hemaseg.handcrafted import ensemble_nucleus_mask, segment_nucleus_handcrafted
    from hemaseg.mask_folder import MaskJob, write_handcrafted_masks, write_masks

    files = list_images(args.root)
    out_dir = osp.join(args.root, args.mask_dir_name)
    settings = settings_of(args, instance)
    check_existing(out_dir, settings, args.overwrite)
    if args.method == 'handcrafted':
        deep, what = None, 'nucleus'
    elif instance:
        deep = DeepInstanceSegmenter(args.config, args.checkpoint, args.device, args.score_thr)
        what = f'union of instances with score >= {args.score_thr}'
    else:
        deep = DeepNucleusSegmenter(args)
        what = f'class {deep.index} ({deep.class_name!r})'
    write_meta(out_dir, settings, complete=False)
    print(f'{len(files)} images in {osp.join(args.root, "images")}: {args.method} masks, {what} -> {out_dir}')

    def nucleus_mask(path, rgb):
        """The ensemble or deep mask of one image (bool HxW); ValueError / RuntimeError naming what failed."""
        if args.method == 'deep':
            return deep.mask(path, rgb)
        return ensemble_nucleus_mask(segment_nucleus_handcrafted(rgb), deep.mask(path, rgb), min_area=args.min_area)

    jobs = [MaskJob(osp.join(args.root, 'images', rel), osp.join(out_dir, mask_relpath(rel)), rel) for rel in files]
    # read_image_as_loaded: decoded as the classifier's LoadImageFromFile decodes them, so masks and inputs line up
    options = dict(read=read_image_as_loaded, keep_existing=not args.overwrite, progress_every=PROGRESS_EVERY)
    if deep is None:
        run = write_handcrafted_masks(jobs, **options)
    else:
        run = write_masks(jobs, nucleus_mask, **options)

    with open(osp.join(out_dir, EMPTY_LIST), 'w') as f:
        f.writelines(f'{rel}\n' for rel in run.empty)
    write_meta(out_dir, settings, complete=not run.failed, num_images=len(files), written=run.written,
               kept=run.kept, failed=len(run.failed), empty=len(run.empty))
    note = f'; the Segmented classifier sees these images as black (all listed in {osp.join(out_dir, EMPTY_LIST)})'
    status = run.report(f'in {out_dir}', empty_note=note)
    if status:
        sys.exit(status)


if __name__ == '__main__':
    main()
