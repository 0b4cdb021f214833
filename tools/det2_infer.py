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

from det2_plugins.apis import infer_images


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-file", required=True)
    ap.add_argument("--weights", required=True, help="a checkpoint written by tools/det2_train_net.py")
    ap.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    ap.add_argument("--out", required=True)
    ap.add_argument("--score-thr", type=float, default=0.3)
    ap.add_argument("--opts", nargs="+", default=[], metavar="KEY VALUE", help="config overrides (last argument)")
    args = ap.parse_args(argv)
    infer_images(args.config_file, args.weights, args.inputs, args.out, args.score_thr, args.opts)


if __name__ == "__main__":
    main()
