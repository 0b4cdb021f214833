"""Inference API of the Detectron2 side (``tools/det2_infer.py``): a predictor from a trained config
of this project (images resized as at test time, results at the original size as
:class:`~hemaseg.instance_inference.InstancePrediction`), and a run over image files that writes
overlays, instance-id maps and COCO-style predictions."""
from __future__ import annotations

import os
import sys

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import transforms as T
from detectron2.modeling import build_model

from hemaseg.instance_inference import (IMAGE_EXTS, InstancePrediction, collect_images, report_failures,
                                        run_instance_inference)

from .data import build_augmentations
from .engine import build_cfg


def build_predictor(cfg):
    """``predict(rgb) -> InstancePrediction`` of the model of ``cfg`` with ``MODEL.WEIGHTS`` loaded:
    an H x W x 3 uint8 RGB image goes through the test-time augmentations, the instances come back
    at the image's own size, on the CPU."""
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


def infer_images(config_file: str, weights: str, inputs, out: str, score_thr: float = 0.3, opts=()) -> None:
    """``tools/det2_infer.py``: run the config with ``weights`` on the image files and folders of
    ``inputs`` and write ``out/overlays``, ``out/instances`` and ``out/predictions.json``
    (:func:`hemaseg.instance_inference.run_instance_inference`). ``opts``: ``KEY VALUE`` config
    overrides. Unreadable inputs are listed at the end and exit with status 1."""
    for path in (config_file, weights):
        if not os.path.isfile(path):
            sys.exit(f"error: {path} does not exist")
    files, missing = collect_images(inputs)
    failed = [(p, "no such file or folder") for p in missing]
    if not files and not failed:
        sys.exit(f"error: no images ({', '.join(IMAGE_EXTS)}) found in {inputs}")
    cfg = build_cfg(config_file, ["MODEL.WEIGHTS", weights, *opts])
    _, failed = run_instance_inference(files, build_predictor(cfg), out, score_thr, failed)
    report_failures(failed)
