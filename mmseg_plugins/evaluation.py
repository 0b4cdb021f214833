"""Nucleus metrics (spec 000 Eqs. 5-9) as an mmseg metric."""
from __future__ import annotations

import csv
import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist

from hemaseg.metrics import METRIC_NAMES, ConfusionCounts, confusion_counts, scores, summarize
from mmseg.registry import METRICS


@METRICS.register_module()
class NucleusMetric(BaseMetric):
    """Dice, IoU, accuracy, precision and recall of one class (default 1, the nucleus).

    Reports dataset-level scores from pooled pixel counts (``Dice`` ...) and the mean
    of per-image scores (``mDice`` ...): the paper does not say which it tabulates
    (spec 000 §6.1). ``per_image_csv`` writes one row of counts and scores per image.
    Undefined ratios follow :func:`hemaseg.metrics.scores`: 0/0 is 1 only when the
    prediction and the ground truth are both empty, else 0 (an empty prediction on an
    image with a nucleus scores Precision 0, not 1).
    Ground truth with values other than the class indices or ``ignore_index`` is an
    error naming the image, so a mask in the wrong format is not scored silently.
    """

    default_prefix = 'nucleus'

    def __init__(self, positive_index: int = 1, ignore_index: int = 255,
                 per_image_csv: str | None = None, collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.positive_index = positive_index
        self.ignore_index = ignore_index
        self.per_image_csv = per_image_csv

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            gt = sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
            bad = np.setdiff1d(np.unique(gt), [*range(num_classes), self.ignore_index])
            if bad.size:
                raise ValueError(f"ground-truth mask of {sample.get('img_path', '?')} contains values "
                                 f'{bad.tolist()}, expected 0..{num_classes - 1} or {self.ignore_index}')
            c = confusion_counts(pred, gt, self.positive_index, self.ignore_index)
            self.results.append((osp.basename(sample.get('img_path', '')), c.tp, c.fp, c.fn, c.tn))

    def compute_metrics(self, results: list) -> dict:
        counts = [ConfusionCounts(*r[1:]) for r in results]
        out = summarize(counts)
        logger = MMLogger.get_current_instance()
        logger.info(f'{len(counts)} images | ' + ' '.join(
            f'{n}={out[n]:.4f}/m{n}={out["m" + n]:.4f}' for n in METRIC_NAMES))
        if self.per_image_csv:
            self._write_csv(results)
        return out

    def _write_csv(self, results: list) -> None:
        mkdir_or_exist(osp.dirname(osp.abspath(self.per_image_csv)))
        with open(self.per_image_csv, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['image', 'tp', 'fp', 'fn', 'tn', *METRIC_NAMES])
            for name, *c in results:
                s = scores(ConfusionCounts(*c))
                w.writerow([name, *c, *(f'{s[n]:.6f}' for n in METRIC_NAMES)])
