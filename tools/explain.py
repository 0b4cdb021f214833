"""Class-activation maps of an MMPretrain classifier on image files (spec 002 §2.5, Figs. 8-10).

    python tools/explain.py CONFIG CHECKPOINT IMAGE_OR_DIR [...] [--out DIR]
        [--methods gradcam gradcam++ hirescam xgradcam] [--target-layer backbone.layer4.2]
        [--target-class predicted|N] [--device cpu] [--cfg-options KEY=VALUE ...]

Each image goes through the config's test pipeline and data preprocessor, exactly as in
testing. ``DIR/<name>.png`` (``<name>``: the file stem) is one row: the network input as the
model saw it (un-normalised, after resize/crop) and one overlay per method (jet colour map: red
= more attention, blue = none, as in the paper's captions), titled with the method, the target
class and its softmax probability. ``DIR/explain.json`` lists per image the probabilities, the
prediction and the target class.

The CAMs come from ``pytorch_grad_cam`` (``hemaseg.cam``). Target class (not stated in the
paper, spec §2.7 #10): the predicted class unless ``--target-class N``. Target layer: by
default the last block of the backbone's last stage, found from the model (ResNet:
``backbone.layer4.2``; DenseNet: ``backbone.transitions.3``); ``--target-layer`` takes a dotted
module name (``backbone.layer4[-1]`` and ``backbone.layer4.-1`` work too), and a wrong name
lists the candidates.

For the share of CAM energy on the nucleus over a dataset split see ``tools/cam_energy.py``.
Unreadable inputs are listed at the end and make the exit status 1; the others are processed.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from mmpretrain_plugins.apis import (Classifier, add_model_args, build_split, explain_input, load_cls_config, parse_target_class,
                         target_layer)


def panels_for(rgb, result: dict, methods, class_names) -> list:
    """Titled panels of :func:`hemaseg.cam.cam_grid`: the input, then one overlay per method."""
    from hemaseg.cam import CAM_METHODS, cam_overlay

    pred, target, probs = result['pred'], result['target'], result['probs']
    panels = [(['input (network view)', f'pred {class_names[pred]} p={probs[pred]:.3f}'], rgb)]
    for m in methods:
        panels.append(([f'{CAM_METHODS[m][0]}', f'{class_names[target]} p={probs[target]:.3f}'],
                       cam_overlay(rgb, result['cams'][m])))
    return panels


def main(argv=None):
    from hemaseg.cam import CAM_METHODS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--out', help='output folder (default: work_dirs/explain/CONFIG_NAME)')
    ap.add_argument('--methods', nargs='+', choices=list(CAM_METHODS), default=list(CAM_METHODS))
    ap.add_argument('--target-layer', help='dotted module name, e.g. backbone.layer4.2 (default: found from the model)')
    ap.add_argument('--target-class', type=parse_target_class, default='predicted',
                    help="'predicted' (default) or a class index")
    args = ap.parse_args(argv)

    from hemaseg.cam import cam_grid
    from hemaseg.data.io import write_image
    from hemaseg.instance_inference import IMAGE_EXTS, collect_images, describe_renames, output_names, report_failures

    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')
    cfg = load_cls_config(args)
    out = args.out or osp.join('work_dirs', 'explain', osp.splitext(osp.basename(args.config))[0])
    clf = Classifier(cfg, args.checkpoint, args.device)
    if clf.class_names is None:  # e.g. a dataset that reads its classes from meta.json
        try:
            clf.use_dataset_classes(build_split(cfg, 'test')[0])
        except SystemExit:
            print('class names: not in the checkpoint, the config or a readable test dataset; using indices')
    names = output_names(files)
    for line in describe_renames(files, names):
        print(line)

    layer, records, t0 = None, [], time.perf_counter()
    for i, path in enumerate(files, 1):
        try:
            x, _ = clf.preprocess(path)
        except ValueError as e:
            failed.append((path, str(e)))
            print(f'[{i}/{len(files)}] {path}: FAILED ({e})')
            continue
        if layer is None:
            layer_name, layer = target_layer(clf, args.target_layer, x)
            print(f'target layer: {layer_name} ({"--target-layer" if args.target_layer else "default"}); '
                  f'methods: {", ".join(args.methods)}; target class: {args.target_class}')
        result = explain_input(clf, layer, x, args.methods, args.target_class)
        class_names = clf.names_for(len(result['probs']))
        grid = cam_grid(panels_for(clf.display_rgb(x), result, args.methods, class_names))
        target_file = osp.join(out, f'{names[i - 1][0]}.png')
        write_image(target_file, grid)
        pred, target = result['pred'], result['target']
        records.append({'image': path, 'output': target_file, 'input_size': list(x.shape[-2:]),
                        'predicted': class_names[pred], 'target_class': class_names[target],
                        'target_index': target, 'probabilities': dict(zip(class_names, map(float, result['probs'])))})
        print(f'[{i}/{len(files)}] {path}: predicted {class_names[pred]} (p={result["probs"][pred]:.3f}), '
              f'CAMs for {class_names[target]} -> {target_file}')
    if records:
        os.makedirs(out, exist_ok=True)
        with open(osp.join(out, 'explain.json'), 'w') as f:
            json.dump({'config': args.config, 'checkpoint': args.checkpoint, 'target_layer': layer_name,
                       'methods': args.methods, 'target_class': args.target_class, 'images': records}, f, indent=2)
    print(f'{len(records)} image(s) explained in {time.perf_counter() - t0:.1f} s; written to {out}')
    report_failures(failed)


if __name__ == '__main__':
    main()
