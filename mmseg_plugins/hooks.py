"""Test-time hook that writes contour overlays of the predictions."""
from __future__ import annotations

import os.path as osp

import cv2
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from hemaseg.viz import draw_contour_overlay
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ContourOverlayHook(Hook):
    """After each test batch, write ``<out_dir>/<image stem>.png``: the input image with the
    predicted contour of class ``label`` and, where available, the ground-truth contour."""

    def __init__(self, out_dir: str, label: int = 1):
        self.out_dir = out_dir
        self.label = label

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        mkdir_or_exist(self.out_dir)
        for sample in outputs or []:
            image_bgr = cv2.imread(sample.img_path, cv2.IMREAD_COLOR)
            pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy()
            gt = sample.gt_sem_seg.data.squeeze(0).cpu().numpy() if 'gt_sem_seg' in sample else None
            overlay = draw_contour_overlay(image_bgr[:, :, ::-1], pred, gt, label=self.label)
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            cv2.imwrite(osp.join(self.out_dir, f'{stem}.png'), overlay[:, :, ::-1])
