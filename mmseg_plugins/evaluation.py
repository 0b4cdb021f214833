"""Nucleus metrics (spec 000 Eqs. 5-9, spec 002 Eq. 4) as an mmseg metric.

Paper: Wang et al., J. Multidiscip. Healthc. 17, 2024, doi:10.2147/JMDH.S492655 (docs/papers/000_msff_segnext.md).
Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).
"""
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
    """Dice, IoU, accuracy, precision, recall and specificity of one class (default 1, the nucleus).

    Reports dataset-level scores from pooled pixel counts (``Dice`` ...) and the mean
    of per-image scores (``mDice`` ...): the paper does not say which it tabulates
    (spec 000 §6.1). ``per_image_csv`` writes one row of counts and scores per image.
    Undefined ratios follow :func:`hemaseg.metrics.scores`: 0/0 is 1 only when the
    prediction and the ground truth are both empty, else 0 (an empty prediction on an
    image with a nucleus scores Precision 0, not 1).
    ``extra_predictions`` (e.g. ``('handcrafted', 'deep')``) also scores each sample's
    ``pred_<name>`` (a ``PixelData`` the model attaches, as ``EnsembleNucleusSegmentor``
    does) against the same ground truth with the same rules, reported as ``<name>_Dice``,
    ``<name>_mDice`` ...; one test run then reports every stage of a pipeline.
    Ground truth with values other than the class indices or ``ignore_index`` is an
    error naming the image, so a mask in the wrong format is not scored silently.
    """

    default_prefix = 'nucleus'

    def __init__(self, positive_index: int = 1, ignore_index: int = 255,
                 per_image_csv: str | None = None, extra_predictions: Sequence[str] = (),
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.positive_index = positive_index
        self.ignore_index = ignore_index
        self.per_image_csv = per_image_csv
        if isinstance(extra_predictions, str):
            extra_predictions = (extra_predictions,)
        self.extra_predictions = tuple(extra_predictions)
        bad = [n for n in self.extra_predictions if not (isinstance(n, str) and n.isidentifier()) or n == 'sem_seg']
        if bad or len(set(self.extra_predictions)) != len(self.extra_predictions):
            raise ValueError(f'NucleusMetric: extra_predictions must be distinct names such as '
                             f"'handcrafted' (scoring pred_handcrafted), got {self.extra_predictions}")

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
            row = [osp.basename(sample.get('img_path', '')), c.tp, c.fp, c.fn, c.tn]
            for name in self.extra_predictions:  # 4 more counts per extra prediction, in order
                key = f'pred_{name}'
                if key not in sample:
                    raise KeyError(f"NucleusMetric(extra_predictions={list(self.extra_predictions)}): the "
                                   f"prediction of {sample.get('img_path', '?')} has no {key!r}; the model must "
                                   'attach it (EnsembleNucleusSegmentor attaches pred_handcrafted and pred_deep)')
                e = confusion_counts(sample[key]['data'].squeeze().cpu().numpy(), gt, self.positive_index,
                                     self.ignore_index)
                row += [e.tp, e.fp, e.fn, e.tn]
            self.results.append(tuple(row))

    def _counts(self, results: list, k: int) -> list[ConfusionCounts]:
        """Counts of prediction ``k`` of every image: 0 = ``pred_sem_seg``, k >= 1 = ``extra_predictions[k-1]``."""
        return [ConfusionCounts(*r[1 + 4 * k:5 + 4 * k]) for r in results]

    def compute_metrics(self, results: list) -> dict:
        out = summarize(self._counts(results, 0))
        logger = MMLogger.get_current_instance()
        logger.info(f'{len(results)} images | ' + ' '.join(
            f'{n}={out[n]:.4f}/m{n}={out["m" + n]:.4f}' for n in METRIC_NAMES))
        for k, name in enumerate(self.extra_predictions, 1):
            extra = summarize(self._counts(results, k))
            out.update({f'{name}_{key}': v for key, v in extra.items()})
            logger.info(f'{name}: ' + ' '.join(
                f'{n}={extra[n]:.4f}/m{n}={extra["m" + n]:.4f}' for n in METRIC_NAMES))
        if self.per_image_csv:
            self._write_csv(results)
        return out

    def _write_csv(self, results: list) -> None:
        mkdir_or_exist(osp.dirname(osp.abspath(self.per_image_csv)))
        with open(self.per_image_csv, 'w', newline='') as f:
            w = csv.writer(f)
            header = ['image', 'tp', 'fp', 'fn', 'tn', *METRIC_NAMES]
            for name in self.extra_predictions:
                header += [f'{name}_{n}' for n in ('tp', 'fp', 'fn', 'tn', *METRIC_NAMES)]
            w.writerow(header)
            for image, *counts in results:
                row = [image]
                for k in range(len(counts) // 4):
                    c = counts[4 * k:4 * k + 4]
                    s = scores(ConfusionCounts(*c))
                    row += [*c, *(f'{s[n]:.6f}' for n in METRIC_NAMES)]
                w.writerow(row)
