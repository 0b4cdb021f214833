"""Spec 002 stage 1 as mmseg segmentors: the handcrafted nucleus mask and the AND ensemble.

* :class:`HandcraftedNucleusSegmentor` wraps :func:`hemaseg.handcrafted.segment_nucleus_handcrafted`
  (Algorithm 1, Table A1). It has no learnable parameter; ``python tools/test.py CONFIG none``
  scores it like any model.
* :class:`EnsembleNucleusSegmentor` builds any mmseg segmentor (the U-Net of §2.2), loads its
  checkpoint and returns Eq. 12 + area opening (§2.3) of the deep and handcrafted masks. Each
  output sample also carries ``pred_handcrafted`` and ``pred_deep``, so a ``NucleusMetric``
  with ``extra_predictions=('handcrafted', 'deep')`` reports all three masks in one run.

Which pixels the handcrafted algorithm sees: the test pipeline resizes the image for the
network (e.g. to 256x256) and the data preprocessor normalises it, while the ground truth and
the final predictions are at the original resolution. Colour constancy, Otsu and the Table A1
pixel sizes (bilateral 9, closing 3, area 150, dilation 2) are defined on the original image,
so both segmentors read it again from ``img_path`` (the file the pipeline loaded, with the same
OpenCV decoder as ``LoadImageFromFile``) and check its size against ``ori_shape``. Only when a
sample has no ``img_path`` (an in-memory image, as in ``mmseg.apis.inference_model`` on an
array) is the network input de-normalised and resized back to ``ori_shape`` instead, with a
warning: that image has been through a resize and is only an approximation.

Both are inference-only: ``loss`` raises (train the deep model with its own config).
"""
from __future__ import annotations

import copy
import os.path as osp
from dataclasses import fields
from typing import List, Optional

import cv2
import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.structures import PixelData
from torch import Tensor

from hemaseg.data.io import read_image
from hemaseg.handcrafted import HandcraftedParams, ensemble_nucleus_mask, segment_nucleus_handcrafted
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def build_handcrafted_params(handcrafted: Optional[dict]) -> HandcraftedParams:
    """``HandcraftedParams(**handcrafted)`` with an error naming the valid keys on a typo."""
    handcrafted = dict(handcrafted or {})
    valid = [f.name for f in fields(HandcraftedParams)]
    unknown = sorted(set(handcrafted) - set(valid))
    if unknown:
        raise ValueError(f'handcrafted: unknown key(s) {unknown}; valid keys are {valid} (spec 002 Table A1)')
    return HandcraftedParams(**handcrafted)


def _denormalised_rgb(image: Tensor, preprocessor, img_shape=None) -> np.ndarray:
    """Network input (C, H, W) -> HxWx3 uint8 RGB, undoing the data preprocessor and its padding."""
    img = image.detach().float()
    if getattr(preprocessor, '_enable_normalize', False):
        img = img * preprocessor.std.to(img.device) + preprocessor.mean.to(img.device)
    if img_shape is not None:  # stack_batch pads at the bottom/right
        img = img[:, :img_shape[0], :img_shape[1]]
    rgb = img.permute(1, 2, 0).cpu().numpy()
    # mmcv loads BGR; after the preprocessor the channels are RGB exactly when it converted them.
    if not getattr(preprocessor, 'channel_conversion', False):
        rgb = rgb[:, :, ::-1]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


_warned_no_path = False  # the fallback below is announced once per process


def original_images(inputs: Tensor, data_samples: List[SegDataSample], preprocessor) -> List[np.ndarray]:
    """The original HxWx3 uint8 RGB image of every sample (see the module docstring).

    Raises ``hemaseg.data.io.DatasetError`` naming the file when ``img_path`` cannot be
    read, and ``ValueError`` when its size differs from ``ori_shape``.
    """
    global _warned_no_path
    images = []
    for i, sample in enumerate(data_samples):
        meta = sample.metainfo
        path = meta.get('img_path')
        ori_shape = meta.get('ori_shape')
        if path:
            rgb = read_image(path)
            if ori_shape is not None and tuple(rgb.shape[:2]) != tuple(ori_shape[:2]):
                raise ValueError(f'{path}: the file is {rgb.shape[0]}x{rgb.shape[1]} but the pipeline loaded it as '
                                 f'{ori_shape[0]}x{ori_shape[1]} (ori_shape); was it changed during the run?')
        else:
            if not _warned_no_path:
                _warned_no_path = True
                print_log('no img_path in the data sample: the handcrafted nucleus mask is computed on the '
                          'network input, de-normalised and resized back to ori_shape (an approximation of the '
                          'original image)', logger='current', level=30)
            rgb = _denormalised_rgb(inputs[i], preprocessor, meta.get('img_shape'))
            if ori_shape is not None and tuple(rgb.shape[:2]) != tuple(ori_shape[:2]):
                rgb = cv2.resize(rgb, (int(ori_shape[1]), int(ori_shape[0])), interpolation=cv2.INTER_LINEAR)
        images.append(rgb)
    return images


def _label_map(mask: np.ndarray, index: int, device) -> PixelData:
    """Bool mask -> ``PixelData`` with a (1, H, W) int64 map of 0 / ``index`` (as mmseg's argmax)."""
    return PixelData(data=torch.from_numpy(mask.astype(np.int64) * index)[None].to(device))


def _samples_for(inputs: Tensor, data_samples) -> List[SegDataSample]:
    """The given samples, or fresh ones whose metainfo describes the unpadded input (like mmseg)."""
    if data_samples is not None:
        return data_samples
    shape = tuple(inputs.shape[2:])
    return [SegDataSample(metainfo=dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                                        padding_size=[0, 0, 0, 0])) for _ in range(inputs.shape[0])]


class _InferenceOnly:
    def loss(self, inputs, data_samples):
        raise NotImplementedError(f'{type(self).__name__} is inference-only (no training): train the deep model with '
                                  'its own config and give its checkpoint to the ensemble')


@MODELS.register_module()
class HandcraftedNucleusSegmentor(_InferenceOnly, BaseSegmentor):
    """Algorithm 1 of spec 002 (:func:`hemaseg.handcrafted.segment_nucleus_handcrafted`) as a segmentor.

    Args:
        handcrafted: :class:`~hemaseg.handcrafted.HandcraftedParams` fields (Table A1), e.g.
            ``dict(dilation=4)`` for Raabin basophils or ``dict(dilation=0)`` to disable it.
        nucleus_index: label written for nucleus pixels (1 in the background/nucleus configs).
        data_preprocessor: only used by ``tensor`` mode and the no-``img_path`` fallback;
            predictions read the original image from ``img_path``.

    ``predict`` returns ``pred_sem_seg`` at the original resolution (``ori_shape``).
    ``tensor`` mode (``_forward``) returns one-hot (N, 2, H, W) "logits" of the mask computed
    on the de-normalised network input, at the input size.
    """

    def __init__(self, handcrafted: Optional[dict] = None, nucleus_index: int = 1,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type='SegDataPreProcessor'),
                         init_cfg=init_cfg)
        self.params = build_handcrafted_params(handcrafted)
        self.nucleus_index = int(nucleus_index)

    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError('the handcrafted segmentor has no features; use predict or encode_decode')

    def encode_decode(self, inputs: Tensor, batch_img_metas=None) -> Tensor:
        """One-hot (N, 2, H, W) of the handcrafted mask of each de-normalised network input."""
        masks = [segment_nucleus_handcrafted(_denormalised_rgb(img, self.data_preprocessor), self.params)
                 for img in inputs]
        fg = torch.from_numpy(np.stack(masks)).to(inputs.device, torch.float32)[:, None]
        return torch.cat([1 - fg, fg], dim=1)

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        return self.encode_decode(inputs)

    def predict(self, inputs: Tensor, data_samples=None) -> List[SegDataSample]:
        samples = _samples_for(inputs, data_samples)
        for sample, rgb in zip(samples, original_images(inputs, samples, self.data_preprocessor)):
            mask = segment_nucleus_handcrafted(rgb, self.params)
            sample.set_data({'pred_sem_seg': _label_map(mask, self.nucleus_index, inputs.device)})
        return samples


@MODELS.register_module()
class EnsembleNucleusSegmentor(_InferenceOnly, BaseSegmentor):
    """Eq. 12 of spec 002: handcrafted AND deep nucleus mask, then area opening (§2.3).

    Args:
        deep_model: config of any mmseg segmentor (with its ``data_preprocessor``, which
            becomes this model's: the deep model sees exactly what it was trained on).
        deep_checkpoint: its weights, loaded here with ``mmengine``'s ``load_checkpoint``
            (``None``: keep its initial weights, e.g. when ``tools/test.py CONFIG CKPT`` loads
            a checkpoint into the whole ensemble; a checkpoint of the deep model alone is
            accepted there too, see ``_prefix_deep_keys``).
        handcrafted: :class:`~hemaseg.handcrafted.HandcraftedParams` fields (Table A1).
        min_area: area-opening threshold after the AND (ambiguity #5: Table A1's 150 px).
        nucleus_index: the nucleus label, in the deep model's output and in the dataset.
        data_preprocessor: ignored: MMEngine's Runner passes a config's top-level
            ``data_preprocessor`` to every model (the deep model's configs have one); the deep
            model's own preprocessor is always the one used.

    Each returned sample has ``pred_sem_seg`` (the ensemble), ``pred_handcrafted`` (0 /
    ``nucleus_index``) and ``pred_deep`` (the deep model's prediction, resized by mmseg to
    ``ori_shape``, every class kept), all at the original resolution. The deep model's
    ``seg_logits`` are dropped: they do not describe ``pred_sem_seg``. ``tensor`` mode is the
    deep model's (the AND needs the original images, so it exists only in ``predict``).
    """

    def __init__(self, deep_model: dict, deep_checkpoint: Optional[str] = None, handcrafted: Optional[dict] = None,
                 min_area: int = 150, nucleus_index: int = 1, data_preprocessor=None, init_cfg=None):
        if not isinstance(deep_model, dict) or 'type' not in deep_model:
            raise ValueError(f'EnsembleNucleusSegmentor: deep_model must be an mmseg segmentor config dict with a '
                             f"'type', got {deep_model!r}")
        deep = MODELS.build(copy.deepcopy(deep_model))
        if not isinstance(deep, BaseSegmentor):
            raise TypeError(f"EnsembleNucleusSegmentor: deep_model type {deep_model['type']!r} is not an mmseg "
                            'segmentor (BaseSegmentor)')
        super().__init__(data_preprocessor=deep.data_preprocessor, init_cfg=init_cfg)
        self.deep_model = deep
        self.params = build_handcrafted_params(handcrafted)
        if min_area < 0:
            raise ValueError(f'EnsembleNucleusSegmentor: min_area must be >= 0, got {min_area}')
        self.min_area = int(min_area)
        self.nucleus_index = int(nucleus_index)
        self.deep_checkpoint = deep_checkpoint
        self._register_load_state_dict_pre_hook(self._prefix_deep_keys)
        if deep_checkpoint is None:
            print_log('EnsembleNucleusSegmentor: deep_checkpoint is None; the deep model keeps its initial weights '
                      'unless a checkpoint is loaded into the ensemble', logger='current', level=30)
        else:
            self._load_deep_checkpoint(deep_checkpoint)

    def _load_deep_checkpoint(self, path: str) -> None:
        from mmengine.runner import load_checkpoint
        if not osp.isfile(path):
            raise FileNotFoundError(f'EnsembleNucleusSegmentor: deep_checkpoint {path} does not exist (train the deep '
                                    'model first, or pass its checkpoint with '
                                    '--cfg-options model.deep_checkpoint=PATH)')
        load_checkpoint(self.deep_model, path, map_location='cpu', strict=True, logger='current')

    @staticmethod
    def _prefix_deep_keys(state_dict, prefix, *args) -> None:
        """Accept a checkpoint of the deep model alone as one of the ensemble (``tools/test.py CONFIG UNET.pth``).

        The ensemble's own keys start with ``deep_model.`` (it has no other weights); a
        state dict with none of them but with keys gets that prefix added in place.
        """
        own = prefix + 'deep_model.'
        keys = [k for k in state_dict if k.startswith(prefix)]
        if keys and not any(k.startswith(own) for k in keys):
            for k in keys:
                state_dict[own + k[len(prefix):]] = state_dict.pop(k)

    def init_weights(self):
        # Weights come from deep_checkpoint; re-initialising after loading would discard them.
        if self.deep_checkpoint is None:
            super().init_weights()

    def extract_feat(self, inputs: Tensor):
        return self.deep_model.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_img_metas):
        return self.deep_model.encode_decode(inputs, batch_img_metas)

    def _forward(self, inputs: Tensor, data_samples=None):
        return self.deep_model._forward(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples=None) -> List[SegDataSample]:
        samples = self.deep_model.predict(inputs, _samples_for(inputs, data_samples))
        for sample, rgb in zip(samples, original_images(inputs, samples, self.data_preprocessor)):
            deep_pred = sample.pred_sem_seg
            deep_mask = deep_pred.data[0].cpu().numpy() == self.nucleus_index
            hand_mask = segment_nucleus_handcrafted(rgb, self.params)
            if hand_mask.shape != deep_mask.shape:
                raise ValueError(f"{sample.metainfo.get('img_path', 'input')}: the deep prediction is "
                                 f'{deep_mask.shape} but the image is {hand_mask.shape}')
            ensemble = ensemble_nucleus_mask(hand_mask, deep_mask, self.min_area)
            if 'seg_logits' in sample:
                del sample.seg_logits
            sample.set_data({'pred_sem_seg': _label_map(ensemble, self.nucleus_index, inputs.device),
                             'pred_handcrafted': _label_map(hand_mask, self.nucleus_index, inputs.device),
                             'pred_deep': deep_pred})
        return samples
