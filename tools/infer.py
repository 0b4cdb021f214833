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

from _common import REPO_ROOT  # noqa: F401  (repo root on sys.path)

SINGLE, WHOLE = 'single-crop', 'whole-field'


def mmdet_predictor(config, checkpoint: str, device: str):
    """``predict(rgb) -> InstancePrediction`` for an mmdet config."""
    from mmdet.apis import inference_detector, init_detector

    import mmdet_plugins  # noqa: F401  (registrations + checkpoint allow-list)
    from hemaseg.instance_inference import InstancePrediction

    # Images come without annotations: drop the test pipeline's LoadAnnotations.
    for loader in ('test_dataloader', 'val_dataloader'):
        ds = config[loader].dataset
        ds.pipeline = [t for t in ds.pipeline if t['type'] != 'LoadAnnotations']
    model = init_detector(config, checkpoint, device=device)

    def predict(rgb):
        inst = inference_detector(model, rgb[:, :, ::-1].copy()).pred_instances.cpu()
        return InstancePrediction(inst.masks.numpy().astype(bool), inst.bboxes.numpy(), inst.scores.numpy(),
                                  inst.labels.numpy())

    return predict


# --------------------------------------------------------------------------- semantic segmentation
def _hw(value, what: str) -> tuple:
    """``(h, w)`` from an int/float or a pair."""
    if isinstance(value, (int, float)):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    raise SystemExit(f'error: {what} must be a number or an (h, w) pair, got {value!r}')


def seg_test_pipeline(config) -> list:
    """The config's test pipeline (what ``mmseg.apis.inference_model`` uses), without annotations."""
    pipeline = config.get('test_pipeline') or config.test_dataloader.dataset.pipeline
    return [dict(t) for t in pipeline if t['type'] != 'LoadAnnotations']


def whole_field_settings(config, scale=None) -> dict:
    """How this config's model sees images, from its test pipeline and its ``inference`` key.

    ``input_size``: the network input (h, w) of the fixed Resize; ``scale``: (h, w) network-input
    pixels per source pixel (``--scale``, else ``inference.scale``, else ``input_size /
    inference.source_crop_size``, else 1); ``max_crop_size``: the largest input treated as one
    crop (``inference.max_crop_size``, else the source crop size); ``crop_size`` / ``stride``: the
    sliding window (the network input, 2/3 of it).
    """
    inf = dict(config.get('inference') or {})
    unknown = set(inf) - {'source_crop_size', 'max_crop_size', 'scale', 'crop_size', 'stride'}
    if unknown:
        raise SystemExit(f'error: unknown inference key(s) in the config: {sorted(unknown)}')
    resizes = [t for t in seg_test_pipeline(config) if t['type'] in ('Resize', 'RandomResize')]
    input_size = None
    if len(resizes) == 1 and resizes[0]['type'] == 'Resize' and resizes[0].get('scale') is not None \
            and not resizes[0].get('keep_ratio', False):
        w, h = _hw(resizes[0]['scale'], 'the test Resize scale')
        input_size = (int(h), int(w))
    crop = tuple(int(v) for v in _hw(inf['crop_size'], 'inference.crop_size')) if 'crop_size' in inf else input_size
    note = ''
    if scale is not None:
        s = (float(scale), float(scale))
        note = '--scale'
    elif 'scale' in inf:
        s = tuple(float(v) for v in _hw(inf['scale'], 'inference.scale'))
        note = 'inference.scale of the config'
    elif 'source_crop_size' in inf and input_size is not None:
        src = _hw(inf['source_crop_size'], 'inference.source_crop_size')
        s = (input_size[0] / src[0], input_size[1] / src[1])
        note = f'training crops of {src[0]}x{src[1]} px resized to {input_size[0]}x{input_size[1]}'
    else:
        s = (1.0, 1.0)
        note = 'no inference.source_crop_size in the config: assumed trained at scale 1; pass --scale'
    if crop is None:
        raise SystemExit('error: the test pipeline has no fixed-size Resize; set inference.crop_size in the config '
                         '(the sliding-window size)')
    if 'max_crop_size' in inf:
        max_crop = _hw(inf['max_crop_size'], 'inference.max_crop_size')
    elif 'source_crop_size' in inf:
        max_crop = _hw(inf['source_crop_size'], 'inference.source_crop_size')
    else:
        max_crop = (crop[0] / s[0], crop[1] / s[1])
    stride = (tuple(int(v) for v in _hw(inf['stride'], 'inference.stride')) if 'stride' in inf
              else tuple(max(1, round(2 * c / 3)) for c in crop))
    if any(v <= 0 for v in (*s, *crop, *stride)):
        raise SystemExit(f'error: scale, crop size and stride must be positive (got {s}, {crop}, {stride})')
    return dict(input_size=input_size, scale=s, scale_source=note, max_crop_size=tuple(max_crop), crop_size=crop,
                stride=stride)


class Segmenter:
    """An mmseg model that segments an RGB image in single-crop or whole-field mode (module doc)."""

    def __init__(self, config, checkpoint: str, device: str = 'cpu', scale=None):
        from mmengine.dataset import Compose
        from mmseg.apis import init_model

        import mmseg_plugins  # noqa: F401
        self.settings = whole_field_settings(config, scale)
        self.model = init_model(config, checkpoint, device=device)
        self.test_cfg = self.model.test_cfg
        pipeline = seg_test_pipeline(config)
        pipeline[0] = dict(type='LoadImageFromNDArray')
        sh, sw = self.settings['scale']
        rescale = dict(type='Resize', scale_factor=(float(sw), float(sh)), keep_ratio=False)
        whole = [rescale if t['type'] in ('Resize', 'RandomResize') else t for t in pipeline]
        if rescale not in whole:  # no Resize in the test pipeline: rescale right after loading
            whole.insert(1, rescale)
        self.pipelines = {SINGLE: Compose(pipeline), WHOLE: Compose(whole)}

    def choose_mode(self, shape, force=None) -> str:
        if force:
            return force
        max_h, max_w = self.settings['max_crop_size']
        return WHOLE if shape[0] > max_h or shape[1] > max_w else SINGLE

    def __call__(self, rgb, mode: str):
        """``(class-index map at the image's size, uint8; description of what was done)``."""
        import torch
        import torch.nn.functional as F
        from mmengine.config import ConfigDict

        data = self.pipelines[mode](dict(img=rgb[:, :, ::-1].copy()))
        inputs, sample = data['inputs'], data['data_samples']
        h, w = inputs.shape[-2:]
        ori = f'{rgb.shape[0]}x{rgb.shape[1]}'
        if mode == SINGLE:
            self.model.test_cfg = self.test_cfg
            what = f'{SINGLE}: {ori} resized to {h}x{w} (the network input)'
        else:
            ch, cw = self.settings['crop_size']
            pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
            if pad_h or pad_w:  # smaller than one window: pad (bottom/right), cut off again after
                inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=0)
                sample.set_metainfo(dict(padding_size=[0, pad_w, 0, pad_h]))
            self.model.test_cfg = ConfigDict(mode='slide', crop_size=(ch, cw), stride=self.settings['stride'])
            sh, sw = self.settings['scale']
            scale = f'{sh:.3f}' if abs(sh - sw) < 1e-9 else f'{sh:.3f}x{sw:.3f} (h x w)'
            what = (f'{WHOLE}: {ori} rescaled by {scale} ({self.settings["scale_source"]}) to {h}x{w}, '
                    f'sliding {ch}x{cw} windows with stride {self.settings["stride"][0]}x{self.settings["stride"][1]}'
                    + (f' (padded by {pad_h}x{pad_w})' if pad_h or pad_w else '') + f', mapped back to {ori}')
        try:
            with torch.no_grad():
                result = self.model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
        finally:
            self.model.test_cfg = self.test_cfg
        pred = result.pred_sem_seg.data[0].cpu().numpy().astype('uint8')
        assert pred.shape == rgb.shape[:2], (pred.shape, rgb.shape)
        return pred, what


def segment(args, config, files, failed) -> None:
    import cv2

    from hemaseg.instance_inference import describe_renames, output_names, read_images
    from hemaseg.viz import draw_contour_overlay

    segmenter = Segmenter(config, args.checkpoint, device=args.device, scale=args.scale)
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
    ap.add_argument('--scale', type=float, help='segmentation, whole-field mode: network-input pixels per image '
                    'pixel (default: from the config\'s inference key)')
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--whole-field', action='store_true', help='segmentation: rescale + sliding window for '
                      'every input, whatever its size')
    mode.add_argument('--single-crop', action='store_true', help='segmentation: resize every input to the network '
                      'input, whatever its size (the behaviour for single-cell crops)')
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
    from hemaseg.instance_inference import IMAGE_EXTS, collect_images, report_failures, run_instance_inference
    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')

    from mmengine.config import Config
    config = Config.fromfile(args.config)
    if config.get('default_scope') == 'mmdet':
        if args.scale is not None or args.whole_field or args.single_crop or args.gate != 'none':
            sys.exit('error: --scale, --whole-field, --single-crop and --gate apply to segmentation configs only')
        predict = mmdet_predictor(config, args.checkpoint, args.device)
        _, failed = run_instance_inference(files, predict, args.out, args.score_thr, failed)
    else:
        segment(args, config, files, failed)
    report_failures(failed)


if __name__ == '__main__':
    main()
