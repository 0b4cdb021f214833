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

from hemaseg.cam import CAM_METHODS
from mmpretrain_plugins.apis import add_model_args, explain_images, parse_target_class


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--out', help='output folder (default: work_dirs/explain/CONFIG_NAME)')
    ap.add_argument('--methods', nargs='+', choices=list(CAM_METHODS), default=list(CAM_METHODS))
    ap.add_argument('--target-layer', help='dotted module name, e.g. backbone.layer4.2 (default: found from the model)')
    ap.add_argument('--target-class', type=parse_target_class, default='predicted',
                    help="'predicted' (default) or a class index")
    args = ap.parse_args(argv)
    explain_images(args.config, args.checkpoint, args.inputs, args.out, args.methods, args.target_layer,
                   args.target_class, args.device, args.cfg_options)


if __name__ == '__main__':
    main()
