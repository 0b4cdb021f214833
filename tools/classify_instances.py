"""Detect the cells of bone-marrow images, then classify the image (DeepBCSDnet, spec 004 §2.0 / §2.3).

    python tools/classify_instances.py DET_CONFIG DET_CKPT CLS_CONFIG CLS_CKPT IMAGE_OR_DIR [...]
        [--mode mask|crop] [--score-thr 0.5] [--aggregate mean|max|vote] [--out DIR]
        [--device cpu] [--save-inputs] [--no-overlays] [--cls-cfg-options KEY=VALUE ...]

1. An MMDetection instance-segmentation model (DET_CONFIG + DET_CKPT, e.g. R-Mask R-CNN,
   ``configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512.py``) finds the cells; instances
   scoring at least ``--score-thr`` are kept, whatever their label (every instance is a cell).
2. ``--mode mask`` (default; the "segmented image" of spec 004 §2.3): the image with every pixel
   outside the union of the kept masks set to black is classified once. ``--mode crop``: each
   kept cell's box is cropped and classified, and the cells' probabilities are aggregated per
   image (``--aggregate``: mean | max | vote, see ``hemaseg/instance_classification.py``).
3. The classifier is an MMPretrain config + checkpoint (CLS_CONFIG + CLS_CKPT, e.g.
   ``configs/densenet_cls/densenet121_linear-head_1xb1-30e_all-vs-mm-512x512.py``): each input goes through the config's
   test pipeline (minus the file loading, and minus ``MaskOutsideNucleus``: the masking is done
   here, from the detections, exactly as MaskOutsideNucleus does it with precomputed masks) and
   its data preprocessor; the class probabilities are the softmax of its logits. Class names
   come from the checkpoint (``meta.dataset_meta``), else the config.

A crop-mode classifier should be trained on cell crops, a mask-mode one on segmented images
(``tools/precompute_masks.py --method deep --config DET_CONFIG --checkpoint DET_CKPT
--mask-dir-name cell_masks`` writes the union masks its MaskOutsideNucleus reads).

Outputs in DIR (default ``work_dirs/classify_instances/<CLS_CONFIG name>``):

* ``predictions.csv``: image, n_cells, score_<class> per class, predicted (``no cell`` and empty
  scores when nothing was detected above the threshold);
* ``summary.json``: the settings, the count per predicted class and, per image, the scores and
  the probabilities of every classifier input;
* ``overlays/<name>.png``: the detected contours coloured by class (crop mode: each cell by its
  own class, with its probability; mask mode: every cell in the image's class) and a banner with
  the image's class; ``--save-inputs`` also writes what the classifier saw to ``inputs/``.

``<name>`` is the file stem (inputs sharing a stem are named by their relative path, printed).
Unreadable inputs are listed at the end and make the exit status 1; the others are processed.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from mmpretrain_plugins.apis import Classifier, load_cls_config


def mmdet_predictor(config, checkpoint: str, device: str):
    """``predict(rgb) -> InstancePrediction`` of tools/infer.py, run in the mmdet registry scope:
    ``inference_detector`` builds its test pipeline at every call, while the classifier has made
    'mmpretrain' the default scope (a separate name so tests can replace the detector)."""
    from mmengine.registry import DefaultScope

    from mmdet_plugins.apis import mmdet_predictor as predictor
    with DefaultScope.overwrite_default_scope('mmdet'):
        predict = predictor(config, checkpoint, device)

    def predict_in_scope(rgb):
        with DefaultScope.overwrite_default_scope('mmdet'):
            return predict(rgb)

    return predict_in_scope


def parse_args(argv=None):
    from mmengine.config import DictAction

    from hemaseg.instance_classification import AGGREGATIONS, MODES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('det_config', help='MMDetection instance-segmentation config (e.g. R-Mask R-CNN)')
    ap.add_argument('det_checkpoint')
    ap.add_argument('cls_config', help='MMPretrain classifier config')
    ap.add_argument('cls_checkpoint')
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--mode', choices=MODES, default='mask',
                    help='mask: classify the image with everything outside the detected cells black (default); '
                    'crop: classify each cell\'s box and aggregate')
    ap.add_argument('--score-thr', type=float, default=0.5, help='minimum detection score of a cell (default 0.5)')
    ap.add_argument('--aggregate', choices=AGGREGATIONS, default='mean',
                    help='crop mode: how the cells\' probabilities make the image\'s scores (default mean)')
    ap.add_argument('--out', help='output folder (default: work_dirs/classify_instances/CLS_CONFIG_NAME)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--save-inputs', action='store_true', help='also write the classifier inputs to DIR/inputs/')
    ap.add_argument('--no-overlays', action='store_true', help='do not write DIR/overlays/')
    ap.add_argument('--cls-cfg-options', nargs='+', action=DictAction, help='override classifier config keys')
    args = ap.parse_args(argv)
    if not 0 <= args.score_thr <= 1:
        ap.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    for path in (args.det_config, args.det_checkpoint, args.cls_config, args.cls_checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: {path} does not exist')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    from hemaseg.data.annotations import IMAGE_EXTS
    from hemaseg.data.io import write_image
    from hemaseg.instance_classification import (NO_CELL, classifier_inputs, classify_detections,
                                                 draw_classified_overlay, summary, write_csv)
    from hemaseg.instance_inference import collect_images, describe_renames, output_names, read_images, report_failures

    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')
    det_cfg = Config.fromfile(args.det_config)
    if det_cfg.get('default_scope') != 'mmdet':
        sys.exit(f'error: {args.det_config} is not an MMDetection config (default_scope '
                 f'{det_cfg.get("default_scope")!r}); DET_CONFIG must be an instance-segmentation model')
    cls_cfg = load_cls_config(argparse.Namespace(config=args.cls_config, checkpoint=args.cls_checkpoint,
                                                 cfg_options=args.cls_cfg_options))
    if cls_cfg.get('default_scope') != 'mmpretrain':
        sys.exit(f'error: {args.cls_config} is not an MMPretrain config (default_scope '
                 f'{cls_cfg.get("default_scope")!r}); CLS_CONFIG must be an image classifier')
    out = args.out or osp.join('work_dirs', 'classify_instances', osp.splitext(osp.basename(args.cls_config))[0])

    predict = mmdet_predictor(det_cfg, args.det_checkpoint, args.device)
    clf = Classifier(cls_cfg, args.cls_checkpoint, args.device)
    class_names = clf.output_names()
    if 'MaskOutsideNucleus' in clf.array_dropped:
        print('note: the classifier\'s MaskOutsideNucleus step is replaced by the masks of the detected cells'
              + (' (crop mode: the crops are not masked)' if args.mode == 'crop' else ''))
    print(f'classifier input: {" -> ".join(clf.array_steps)}; classes {class_names}; mode {args.mode}'
          + (f', aggregation {args.aggregate}' if args.mode == 'crop' else '') + f'; score >= {args.score_thr}')
    names = output_names(files)
    for line in describe_renames(files, names):
        print(line)

    results, t0 = [], time.perf_counter()
    for i, path, rgb in read_images(files, failed):
        name = names[i - 1][0]
        pred = predict(rgb).keep(args.score_thr)
        result = classify_detections(rgb, pred, clf.classify_arrays, class_names, args.mode, args.aggregate, name=path)
        results.append(result)
        if not args.no_overlays:
            write_image(osp.join(out, 'overlays', f'{name}.png'),
                        draw_classified_overlay(rgb, pred, result, class_names, args.mode))
        if args.save_inputs:
            for k, inp in enumerate(classifier_inputs(rgb, pred, args.mode)):
                target = f'{name}.png' if args.mode == 'mask' else osp.join(name, f'cell_{k:03d}.png')
                write_image(osp.join(out, 'inputs', target), inp)
        if result.scores is None:
            what = f'{NO_CELL} (no detection with score >= {args.score_thr})'
        else:
            what = f'{result.predicted} ({result.scores[result.predicted_index]:.3f})'
        print(f'[{i}/{len(files)}] {path}: {result.n_cells} cell(s) -> {what}', flush=True)

    os.makedirs(out, exist_ok=True)
    write_csv(osp.join(out, 'predictions.csv'), results, class_names)
    info = summary(results, class_names, det_config=args.det_config, det_checkpoint=args.det_checkpoint,
                   cls_config=args.cls_config, cls_checkpoint=args.cls_checkpoint, mode=args.mode,
                   aggregation=args.aggregate if args.mode == 'crop' else None, score_thr=args.score_thr,
                   failed=[{'image': p, 'reason': why} for p, why in failed])
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(info, f, indent=2)
    counts = ', '.join(f'{c}: {n}' for c, n in info['predicted_counts'].items())
    print(f'{len(results)} image(s) in {time.perf_counter() - t0:.1f} s ({counts}); '
          f'{osp.join(out, "predictions.csv")}, summary.json' + ('' if args.no_overlays else ', overlays/'))
    report_failures(failed)


if __name__ == '__main__':
    main()
