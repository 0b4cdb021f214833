"""YOLACT-CIS detector: mmdet's ``YOLACT`` with the protonet fed from N3 *before* DDAM.

Spec 001 §2.0/§2.2 item 5: the prediction head sees DDAM(N3..N7) ("the DDAM is placed
between the DFFN and mask coefficient network") while the prototype network takes P3 = N3
without attention. mmdet's ``SingleStageInstanceSegmentor`` hands the same feature tuple
to both heads, so this subclass only routes the features: the heads, losses and
post-processing are mmdet's ``YOLACTHead`` / ``YOLACTProtonet`` unchanged.

With a neck that has no ``forward_with_prototype_input`` (e.g. mmdet's FPN) it behaves
exactly like ``YOLACT`` (protonet on the first level). Using ``type='YOLACT'`` with the
``DFFN`` neck is the "protonet after DDAM" variant.
"""
from __future__ import annotations

from torch import Tensor

from mmdet.models.detectors import YOLACT
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList


@MODELS.register_module()
class YOLACTCIS(YOLACT):
    """YOLACT whose mask head input may differ from the box head input (see module docstring)."""

    def extract_head_and_proto_feats(self, batch_inputs: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        """``(prediction-head levels, protonet input)``; the protonet uses element 0 of the latter."""
        feats = self.backbone(batch_inputs)
        if hasattr(self.neck, 'forward_with_prototype_input'):
            return self.neck.forward_with_prototype_input(feats)
        feats = self.neck(feats)
        return feats, feats

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList, **kwargs) -> dict:
        head_feats, proto_feats = self.extract_head_and_proto_feats(batch_inputs)
        losses = self.bbox_head.loss(head_feats, batch_data_samples, **kwargs)
        mask_losses = self.mask_head.loss(proto_feats, batch_data_samples,
                                          positive_infos=self.bbox_head.get_positive_infos(), **kwargs)
        assert not set(mask_losses) & set(losses), 'box and mask head losses must have distinct names'
        losses.update(mask_losses)
        return losses

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True,
                **kwargs) -> SampleList:
        head_feats, proto_feats = self.extract_head_and_proto_feats(batch_inputs)
        # Boxes stay at network scale: the mask head rescales boxes and masks together.
        results_list = self.bbox_head.predict(head_feats, batch_data_samples, rescale=False)
        results_list = self.mask_head.predict(proto_feats, batch_data_samples, rescale=rescale,
                                              results_list=results_list)
        return self.add_pred_to_datasample(batch_data_samples, results_list)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: OptSampleList = None, **kwargs) -> tuple:
        if batch_data_samples is None:
            raise ValueError('YOLACT needs batch_data_samples in tensor mode (the mask head uses the '
                             'positive anchors assigned by the box head)')
        head_feats, proto_feats = self.extract_head_and_proto_feats(batch_inputs)
        bbox_outs = self.bbox_head.forward(head_feats)
        self.bbox_head.loss(head_feats, batch_data_samples, **kwargs)  # sets the positive infos
        mask_outs = self.mask_head.forward(proto_feats, self.bbox_head.get_positive_infos())
        return bbox_outs, mask_outs
