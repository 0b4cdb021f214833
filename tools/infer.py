"""Run a trained checkpoint of any OpenMMLab config on image files: masks and contour overlays out.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_DIR [...] --out DIR [--device cuda:0]
        [--scale S] [--whole-field | --single-crop] [--gate handcrafted]

Semantic segmentation (mmseg configs): ``DIR/masks/<name>.png`` (class indices, at the input's
size) and ``DIR/overlays/<name>.png`` (contour of ``--label``). Each input is run in one of two
modes, printed per image:

* single-crop: an image no larger than a training image (``inference.max_crop_size`` of the
  config) goes through the config's test pipeline unchanged, i.e. resized to the network input
  (e.g. 128x128) like the training crops were;
* whole-field: a larger image (a smear photo with many cells) is rescaled by the factor the
  training crops were resized by (network-input pixels per source pixel:
  ``inference.source_crop_size`` -> the test pipeline's Resize; ``--scale`` overrides), so the
  cells keep the size in pixels the model was trained on, then segmented with sliding windows
  of the network input size (stride 2/3 of it, ``inference.stride`` overrides) and the
  prediction is mapped back to the input's resolution. Squeezing a whole field into one
  network input instead shrinks every cell ~10x and loses the nucleus.

``--whole-field`` / ``--single-crop`` force a mode. Configs without an ``inference`` key are
taken to have been trained at scale 1 (source pixels = network-input pixels).

``--gate handcrafted`` protects any learned model the way spec 002's ensemble does (Eq. 12): the
predicted ``--label`` pixels are ANDed with the handcrafted nucleus mask of the same image, then
components under ``--gate-min-area`` pixels are removed. A model trained on centred single cells
tends to put a "nucleus" in every window of a field, also in windows with red cells only; the
gate removes those (and any nucleus the handcrafted method misses). Per image and in total it
prints how many predicted components it removed.

``--min-area A`` (whole-field mode, no gate needed): components smaller than A network-input pixels
are removed from the prediction, A / scale**2 pixels of the field, so the threshold means the same
at any ``--scale``. Default: the config's ``inference.min_area`` (the field-trained configs in
``*_wbc-fields-*`` set 100, under a third of the smallest 1 % of WBC training nuclei), else 0.

Instance segmentation (mmdet configs, ``default_scope = 'mmdet'``): ``DIR/overlays/<name>.png``
(each instance's contour and score), ``DIR/instances/<name>.png`` (16-bit instance ids) and
``DIR/predictions.json`` (COCO-style results with RLE masks and ``file_name``; evaluate it
with ``tools/coco_eval.py GT.json DIR/predictions.json``, which finds the images by file
name); ``--score-thr`` selects instances.

``<name>`` is the file stem; inputs sharing a stem (``a/x.png``, ``b/x.png``) are named by their
path relative to their common folder (``a/x``, ``b/x``), and the mapping is printed.
Unreadable inputs are listed at the end and make the exit status 1; none is skipped silently.
"""
import argparse
import os
import os.path as osp
import sys



def segment(args, config, files, failed) -> None:
    import cv2

    from hemaseg.instance_inference import describe_renames, output_names, read_images
    from hemaseg.viz import draw_contour_overlay

    from mmseg_plugins.apis import SINGLE, WHOLE, Segmenter
    try:
        segmenter = Segmenter(config, args.checkpoint, device=args.device, scale=args.scale, min_area=args.min_area)
    except ValueError as e:
        raise SystemExit(f'error: {e}') from None
    force = WHOLE if args.whole_field else SINGLE if args.single_crop else None
    s = segmenter.settings
    print(f'whole-field settings: scale {s["scale"][0]:.3f}x{s["scale"][1]:.3f} (h x w; {s["scale_source"]}), '
          f'window {s["crop_size"][0]}x{s["crop_size"][1]}, stride {s["stride"][0]}x{s["stride"][1]}; '
          + (f'mode forced to {force}' if force else
             f'inputs larger than {s["max_crop_size"][0]:g}x{s["max_crop_size"][1]:g} are whole fields'))
    if args.gate == 'handcrafted':
        from hemaseg.handcrafted import handcrafted_gate
        print(f'gate: class {args.label} kept only where the handcrafted nucleus mask agrees, then components under '
              f'{args.gate_min_area} pixels removed (spec 002 ensemble)')
    names = output_names(files)
    for line in describe_renames(files, names):
        print(line)
    written, removed, before = 0, 0, 0
    for i, path, rgb in read_images(files, failed):
        name = names[i - 1][0]
        pred, what = segmenter(rgb, segmenter.choose_mode(rgb.shape, force))
        if args.gate == 'handcrafted':
            pred, report = handcrafted_gate(rgb, pred, args.label, min_area=args.gate_min_area)
            what += '; ' + report.describe()
            removed += report.components_removed
            before += report.components_before
        overlay = draw_contour_overlay(rgb, pred, None, label=args.label)[:, :, ::-1]
        for kind, image in (('masks', pred), ('overlays', overlay)):
            target = osp.join(args.out, kind, f'{name}.png')
            os.makedirs(osp.dirname(target), exist_ok=True)
            if not cv2.imwrite(target, image):
                raise SystemExit(f'error: could not write {target}')
        written += 1
        print(f'[{i}/{len(files)}] {path} -> {name}.png: {what}; {int((pred == args.label).sum())} pixels of '
              f'class {args.label}')
    print(f'{written} image(s) written to {args.out}')
    if args.gate == 'handcrafted':
        print(f'gate: {removed} of {before} predicted component(s) removed entirely over {written} image(s)')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--out', required=True)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--label', type=int, default=1, help='segmentation: class whose contour is drawn (1: nucleus)')
    ap.add_argument('--min-area', type=float, help='segmentation, whole-field mode: remove predicted components '
                    'smaller than this many network-input pixels (default: the config\'s inference.min_area, else 0)')
    from hemaseg.field_eval import add_field_mode_args
    add_field_mode_args(ap, 'segmentation', "whole-field for images larger than the config's largest crop")
    ap.add_argument('--gate', choices=('none', 'handcrafted'), default='none',
                    help='segmentation: "handcrafted" keeps the predicted class --label only where the handcrafted '
                    'nucleus mask (spec 002, Algorithm 1) agrees, then removes components under --gate-min-area '
                    'pixels: the spec 002 ensemble (Eq. 12) as a guard against nuclei predicted where there is none')
    ap.add_argument('--gate-min-area', type=int, default=150,
                    help='area opening after the gate, in pixels of the input image (default: 150, Table A1)')
    ap.add_argument('--score-thr', type=float, default=0.3, help='instance segmentation: minimum score kept')
    args = ap.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: {path} does not exist')
    if args.scale is not None and not args.scale > 0:
        sys.exit(f'error: --scale must be positive, got {args.scale}')
    if args.gate_min_area < 0:
        sys.exit(f'error: --gate-min-area must be >= 0, got {args.gate_min_area}')
    if args.min_area is not None and not args.min_area >= 0:
        sys.exit(f'error: --min-area must be >= 0, got {args.min_area}')
    from hemaseg.instance_inference import IMAGE_EXTS, collect_images, report_failures, run_instance_inference
    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')

    from mmengine.config import Config
    config = Config.fromfile(args.config)
    if config.get('default_scope') == 'mmdet':
        if (args.scale is not None or args.whole_field or args.single_crop or args.gate != 'none'
                or args.min_area is not None):
            sys.exit('error: --scale, --whole-field, --single-crop, --gate and --min-area apply to segmentation '
                     'configs only')
        from mmdet_plugins.apis import mmdet_predictor
        predict = mmdet_predictor(config, args.checkpoint, args.device)
        _, failed = run_instance_inference(files, predict, args.out, args.score_thr, failed)
    else:
        segment(args, config, files, failed)
    report_failures(failed)


if __name__ == '__main__':
    main()
