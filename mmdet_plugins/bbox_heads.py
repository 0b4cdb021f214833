"""Mask R-CNN's box head with one more logged value: the foreground recall of its classification.

mmdet's ``BBoxHead.loss`` logs ``acc`` over all sampled RoIs, three quarters of which are background,
so a head that calls everything background still shows ~75 % there. ``fg_recall`` (the share of
foreground RoIs classified as any foreground class; Detectron2 logs ``1 - fast_rcnn/false_negative``)
is what shows that collapse; :class:`hemaseg.training_guard.CollapseGuard` stops training on it
(``mmengine_plugins.hooks.SyncFreeRuntimeInfoHook``). Computed with tensor operations only (no host
synchronisation); not a loss (its key has no ``loss`` in it), so it changes no gradient.
"""
from __future__ import annotations

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS


@MODELS.register_module()
class Shared2FCBBoxHeadWithRecall(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` (the same layers and parameters) that also logs ``fg_recall``."""

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None) -> dict:
        losses = super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
                              reduction_override=reduction_override)
        if cls_score is not None and cls_score.numel() > 0:
            foreground = (labels >= 0) & (labels < self.num_classes)
            called_foreground = cls_score.argmax(dim=1) < self.num_classes
            losses['fg_recall'] = (foreground & called_foreground).sum().float() / foreground.sum().clamp(min=1)
        return losses
