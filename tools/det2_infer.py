#!/usr/bin/env python
"""Run a trained Detectron2 config of this project on image files.

    python tools/det2_infer.py --config-file CONFIG --weights model_final.pth IMAGE_OR_DIR [...] --out DIR \
        [--score-thr 0.3] [--opts KEY VALUE ...]

Writes ``DIR/overlays/<name>.png`` (each instance's contour and score), ``DIR/instances/<name>.png``
(16-bit instance ids) and ``DIR/predictions.json`` (COCO-style results with RLE masks and
``file_name``: ``python tools/coco_eval.py GT.json DIR/predictions.json`` finds the images by file
name). ``<name>`` is the file stem; inputs sharing a stem (``a/x.png``, ``b/x.png``) are named by their
path relative to their common folder (``a/x``, ``b/x``), and the mapping is printed. Images are
resized exactly as at test time (``INPUT.FIXED_SIZE`` or ``MIN_SIZE_TEST``); results are at the
original size. Unreadable inputs are listed at the end and make the exit status 1.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from detectron2.checkpoint import DetectionCheckpointer  # noqa: E402
from detectron2.data import transforms as T  # noqa: E402
from detectron2.modeling import build_model  # noqa: E402

from det2_plugins.data import build_augmentations  # noqa: E402
from det2_plugins.engine import build_cfg  # noqa: E402
from hemaseg.instance_inference import (IMAGE_EXTS, InstancePrediction, collect_images,  # noqa: E402
                                        report_failures, run_instance_inference)


def build_predictor(cfg):
    model = build_model(cfg).eval()
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    augs = T.AugmentationList(build_augmentations(cfg, is_train=False))

    @torch.no_grad()
    def predict(rgb):
        image = rgb if cfg.INPUT.FORMAT == "RGB" else rgb[:, :, ::-1]
        aug = T.AugInput(image.copy())
        augs(aug)
        tensor = torch.as_tensor(aug.image.astype("float32").transpose(2, 0, 1))
        inst = model([{"image": tensor, "height": rgb.shape[0], "width": rgb.shape[1]}])[0]["instances"].to("cpu")
        return InstancePrediction(inst.pred_masks.numpy(), inst.pred_boxes.tensor.numpy(), inst.scores.numpy(),
                                  inst.pred_classes.numpy())

    return predict


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-file", required=True)
    ap.add_argument("--weights", required=True, help="a checkpoint written by tools/det2_train_net.py")
    ap.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    ap.add_argument("--out", required=True)
    ap.add_argument("--score-thr", type=float, default=0.3)
    ap.add_argument("--opts", nargs="+", default=[], metavar="KEY VALUE", help="config overrides (last argument)")
    args = ap.parse_args(argv)
    for path in (args.config_file, args.weights):
        if not os.path.isfile(path):
            sys.exit(f"error: {path} does not exist")
    files, missing = collect_images(args.inputs)
    failed = [(p, "no such file or folder") for p in missing]
    if not files and not failed:
        sys.exit(f"error: no images ({', '.join(IMAGE_EXTS)}) found in {args.inputs}")
    cfg = build_cfg(args.config_file, ["MODEL.WEIGHTS", args.weights, *args.opts])
    _, failed = run_instance_inference(files, build_predictor(cfg), args.out, args.score_thr, failed)
    report_failures(failed)


if __name__ == "__main__":
    main()
