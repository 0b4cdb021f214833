"""Classification report of spec 002 (Eqs. 1-5, Table 7) as an MMPretrain metric.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).
"""
from __future__ import annotations

import csv
import os.path as osp
import sys
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist
from mmpretrain.evaluation import ConfusionMatrix
from mmpretrain.registry import METRICS

from hemaseg.classification_metrics import (PER_CLASS_SCORES, classification_report, format_confusion_table,
                                            format_report_table, mean_cross_entropy)


@METRICS.register_module()
class ClassificationReport(BaseMetric):
    """Accuracy; per-class, macro and support-weighted precision, recall, specificity and F1;
    the validation cross-entropy; and the confusion matrix.

    MMPretrain's ``SingleLabelMetric`` has precision/recall/F1 (macro or per class) but no
    specificity and no support-weighted mean, which Table 7 appears to use (spec 002 §6.1);
    the scores are therefore computed by :func:`hemaseg.classification_metrics.classification_report`
    from the confusion matrix of ``mmpretrain``'s ``ConfusionMatrix.calculate`` (its 0/0
    convention and averaging choices are documented there). Values are fractions in [0, 1].

    Keys (with the ``cls/`` prefix): ``accuracy``, ``cross_entropy`` (mean ``-log p(true)``,
    the loss the ReduceLROnPlateau schedule monitors), ``{macro,weighted}_{precision,recall,
    specificity,f1}`` and ``{score}_{class name}``. The confusion matrix and the report are
    logged as tables; with ``out_dir`` set, ``confusion_matrix.csv``, ``confusion_matrix.png``
    (MMPretrain's ``ConfusionMatrix.plot``, Agg backend), ``classification_report.csv`` and
    ``predictions.csv`` (one row per image) are written there (overwritten at every evaluation).
    """

    default_prefix = 'cls'

    def __init__(self, out_dir: str | None = None, collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = out_dir

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise KeyError(f"ClassificationReport needs class scores ('pred_score') in the predictions of "
                               f"{sample.get('img_path', 'an image')}; got keys {sorted(sample)}")
            score = sample['pred_score'].detach().cpu().float()
            self.results.append(dict(
                img_path=sample.get('img_path', ''),
                gt_label=int(sample['gt_label'].reshape(-1)[0]),
                pred_score=score.numpy()))

    def compute_metrics(self, results: list) -> dict:
        classes = list((self.dataset_meta or {}).get('classes') or [])
        scores = np.stack([r['pred_score'] for r in results])
        num_classes = scores.shape[1]
        if classes and len(classes) != num_classes:
            raise ValueError(f'the model predicts {num_classes} classes but the dataset has {len(classes)} '
                             f'({classes}): set model.head.num_classes={len(classes)}')
        classes = classes or [str(i) for i in range(num_classes)]
        gt = np.array([r['gt_label'] for r in results])
        pred = scores.argmax(axis=1)
        cm = ConfusionMatrix.calculate(torch.from_numpy(pred), torch.from_numpy(gt), num_classes=num_classes).numpy()
        report = classification_report(cm)

        logger = MMLogger.get_current_instance()
        logger.info('confusion matrix (rows: true class, columns: predicted)\n' + format_confusion_table(cm, classes))
        logger.info('classification report\n' + format_report_table(report, classes))

        out = dict(accuracy=report['accuracy'], cross_entropy=mean_cross_entropy(scores, gt))
        for avg in ('macro', 'weighted'):
            out.update({f'{avg}_{s}': report[avg][s] for s in PER_CLASS_SCORES})
        for s in PER_CLASS_SCORES:
            out.update({f'{s}_{name}': float(report['per_class'][s][i]) for i, name in enumerate(classes)})
        if self.out_dir:
            self._write_files(cm, report, classes, results, scores)
            logger.info(f'confusion matrix and report written to {self.out_dir}')
        return out

    def _write_files(self, cm: np.ndarray, report: dict, classes: list, results: list, scores: np.ndarray) -> None:
        mkdir_or_exist(self.out_dir)
        with open(osp.join(self.out_dir, 'confusion_matrix.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['true \\ predicted', *classes])
            for name, row in zip(classes, cm):
                w.writerow([name, *(int(v) for v in row)])
        with open(osp.join(self.out_dir, 'classification_report.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['class', *PER_CLASS_SCORES, 'support'])
            for i, name in enumerate(classes):
                w.writerow([name, *(f'{report["per_class"][s][i]:.6f}' for s in PER_CLASS_SCORES),
                            int(report['support'][i])])
            for avg in ('macro', 'weighted'):
                w.writerow([f'{avg} avg', *(f'{report[avg][s]:.6f}' for s in PER_CLASS_SCORES),
                            report['num_samples']])
            w.writerow(['accuracy', f'{report["accuracy"]:.6f}', '', '', '', report['num_samples']])
        with open(osp.join(self.out_dir, 'predictions.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['image', 'true', 'predicted', *(f'p_{c}' for c in classes)])
            for r, s in zip(results, scores):
                w.writerow([r['img_path'], classes[r['gt_label']], classes[int(s.argmax())],
                            *(f'{v:.6f}' for v in s)])
        self._plot(cm, classes, osp.join(self.out_dir, 'confusion_matrix.png'))

    @staticmethod
    def _plot(cm: np.ndarray, classes: list, path: str) -> None:
        import matplotlib
        if 'matplotlib.pyplot' not in sys.modules:
            matplotlib.use('Agg')  # headless; a session that already chose a backend keeps it
        import matplotlib.pyplot as plt
        fig = ConfusionMatrix.plot(torch.from_numpy(cm), include_values=True, classes=classes, show=False)
        fig.savefig(path, dpi=100, bbox_inches='tight')
        plt.close(fig)
