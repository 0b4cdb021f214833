"""Inference API of the mmseg side: an mmseg model that segments an RGB image as one crop or as a whole
smear field (rescaled to the training pixel scale, sliding windows), used by ``tools/infer.py``,
``tools/field_eval.py`` and ``tools/precompute_masks.py``. Errors in a config's ``inference`` key raise
``ValueError`` naming the key."""
from __future__ import annotations

import math

SINGLE, WHOLE = 'single-crop', 'whole-field'


def _hw(value, what: str) -> tuple:
    """``(h, w)`` from an int/float or a pair."""
    if isinstance(value, (int, float)):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    raise ValueError(f'{what} must be a number or an (h, w) pair, got {value!r}')


def seg_test_pipeline(config) -> list:
    """The config's test pipeline (what ``mmseg.apis.inference_model`` uses), without annotations."""
    pipeline = config.get('test_pipeline') or config.test_dataloader.dataset.pipeline
    return [dict(t) for t in pipeline if t['type'] != 'LoadAnnotations']


def whole_field_settings(config, scale=None, min_area=None) -> dict:
    """How this config's model sees images, from its test pipeline and its ``inference`` key.

    ``input_size``: the network input (h, w) of the fixed Resize; ``scale``: (h, w) network-input
    pixels per source pixel (``--scale``, else ``inference.scale``, else ``input_size /
    inference.source_crop_size``, else 1); ``max_crop_size``: the largest input treated as one
    crop (``inference.max_crop_size``, else the source crop size); ``crop_size`` / ``stride``: the
    sliding window (the network input, 2/3 of it); ``min_area``: whole-field predictions lose their
    components smaller than this many network-input pixels (``min_area``, else ``inference.min_area``,
    else 0; in source pixels ``min_area / (scale_h * scale_w)``, so that it means the same at any scale).
    """
    inf = dict(config.get('inference') or {})
    unknown = set(inf) - {'source_crop_size', 'max_crop_size', 'scale', 'crop_size', 'stride', 'min_area'}
    if unknown:
        raise ValueError(f'unknown inference key(s) in the config: {sorted(unknown)}')
    resizes = [t for t in seg_test_pipeline(config) if t['type'] in ('Resize', 'RandomResize')]
    input_size = None
    if len(resizes) == 1 and resizes[0]['type'] == 'Resize' and resizes[0].get('scale') is not None \
            and not resizes[0].get('keep_ratio', False):
        w, h = _hw(resizes[0]['scale'], 'the test Resize scale')
        input_size = (int(h), int(w))
    crop = tuple(int(v) for v in _hw(inf['crop_size'], 'inference.crop_size')) if 'crop_size' in inf else input_size
    note = ''
    if scale is not None:
        s = (float(scale), float(scale))
        note = '--scale'
    elif 'scale' in inf:
        s = tuple(float(v) for v in _hw(inf['scale'], 'inference.scale'))
        note = 'inference.scale of the config'
    elif 'source_crop_size' in inf and input_size is not None:
        src = _hw(inf['source_crop_size'], 'inference.source_crop_size')
        s = (input_size[0] / src[0], input_size[1] / src[1])
        note = f'training crops of {src[0]}x{src[1]} px resized to {input_size[0]}x{input_size[1]}'
    else:
        s = (1.0, 1.0)
        note = 'no inference.source_crop_size in the config: assumed trained at scale 1; pass --scale'
    if crop is None:
        raise ValueError('the test pipeline has no fixed-size Resize; set inference.crop_size in the config '
                         '(the sliding-window size)')
    if 'max_crop_size' in inf:
        max_crop = _hw(inf['max_crop_size'], 'inference.max_crop_size')
    elif 'source_crop_size' in inf:
        max_crop = _hw(inf['source_crop_size'], 'inference.source_crop_size')
    else:
        max_crop = (crop[0] / s[0], crop[1] / s[1])
    stride = (tuple(int(v) for v in _hw(inf['stride'], 'inference.stride')) if 'stride' in inf
              else tuple(max(1, round(2 * c / 3)) for c in crop))
    if any(v <= 0 for v in (*s, *crop, *stride)):
        raise ValueError(f'scale, crop size and stride must be positive (got {s}, {crop}, {stride})')
    area = inf.get('min_area', 0) if min_area is None else min_area
    if not isinstance(area, (int, float)) or area < 0:
        raise ValueError(f'the minimum component area (inference.min_area or --min-area) must be a number >= 0, '
                         f'got {area!r}')
    return dict(input_size=input_size, scale=s, scale_source=note, max_crop_size=tuple(max_crop), crop_size=crop,
                stride=stride, min_area=float(area))


def foreground_class(classes, label=None, source: str = 'the model') -> tuple:
    """``(index, note)`` of the class to take as foreground among ``classes`` (the model's class names).

    ``label``: a class name or an index; default ``nucleus``, else class 1 of a two-class model (e.g.
    ALL-FABNET's ``('background', 'cell')``), announced by ``note`` (None otherwise). ``ValueError``
    naming ``source`` when ``label`` is neither, or when there is no default. A bad ``label``'s message
    starts with ``repr(label)``, so a command line can prefix it with its option name.
    """
    classes = list(classes or [])
    if label is not None:
        if label in classes:
            return classes.index(label), None
        if str(label).isdigit() and (not classes or int(label) < len(classes)):
            return int(label), None
        raise ValueError(f'{label!r} is neither a class name nor a class index of {source} (classes {classes})')
    if 'nucleus' in classes:
        return classes.index('nucleus'), None
    if len(classes) == 2:
        return 1, f'{source} has no class named "nucleus" ({classes}); using class 1 ({classes[1]!r})'
    raise ValueError(f'{source} has no class named "nucleus" among {classes}; name the foreground class')


class Segmenter:
    """An mmseg model that segments an RGB image in single-crop or whole-field mode (module doc)."""

    def __init__(self, config, checkpoint: str, device: str = 'cpu', scale=None, min_area=None, seed: int = 0):
        """``seed``: every call runs under this torch seed (the caller's random state is restored after),
        so that an image's prediction does not depend on what was segmented before it: SegNeXt's
        Hamburger draws random NMF bases at every forward pass, in eval mode too. ``None``: unseeded."""
        from mmengine.dataset import Compose
        from mmseg.apis import init_model

        import mmseg_plugins  # noqa: F401
        self.settings = whole_field_settings(config, scale, min_area)
        self.seed = seed
        self.source = getattr(config, 'filename', None) or 'the config'
        self.model = init_model(config, checkpoint, device=device)
        self.test_cfg = self.model.test_cfg
        pipeline = seg_test_pipeline(config)
        pipeline[0] = dict(type='LoadImageFromNDArray')
        sh, sw = self.settings['scale']
        rescale = dict(type='Resize', scale_factor=(float(sw), float(sh)), keep_ratio=False)
        whole = [rescale if t['type'] in ('Resize', 'RandomResize') else t for t in pipeline]
        if rescale not in whole:  # no Resize in the test pipeline: rescale right after loading
            whole.insert(1, rescale)
        self.pipelines = {SINGLE: Compose(pipeline), WHOLE: Compose(whole)}

    @property
    def classes(self) -> list:
        """The model's class names (from its checkpoint's ``dataset_meta``, else its config); may be empty."""
        return list((self.model.dataset_meta or {}).get('classes') or [])

    def class_index(self, label=None) -> tuple:
        """``(index, note)`` of the foreground class ``label`` of this model (:func:`foreground_class`)."""
        return foreground_class(self.classes, label, self.source)

    def choose_mode(self, shape, force=None) -> str:
        if force:
            return force
        max_h, max_w = self.settings['max_crop_size']
        return WHOLE if shape[0] > max_h or shape[1] > max_w else SINGLE

    def __call__(self, rgb, mode: str, img_path: str | None = None):
        """``(class-index map at the image's size, uint8; description of what was done)``.

        ``img_path``: the file ``rgb`` was decoded from, if any. It is put in the data sample because
        the project's handcrafted and ensemble segmentors (``mmseg_plugins.models.nucleus_ensemble``)
        read the original image from it; without it they approximate it from the network input.
        """
        import torch
        import torch.nn.functional as F
        from mmengine.config import ConfigDict

        data = self.pipelines[mode](dict(img=rgb[:, :, ::-1].copy()))
        inputs, sample = data['inputs'], data['data_samples']
        if img_path is not None:  # LoadImageFromNDArray sets img_path to None
            sample.set_metainfo(dict(img_path=img_path))
        h, w = inputs.shape[-2:]
        ori = f'{rgb.shape[0]}x{rgb.shape[1]}'
        if mode == SINGLE:
            self.model.test_cfg = self.test_cfg
            what = f'{SINGLE}: {ori} resized to {h}x{w} (the network input)'
        else:
            ch, cw = self.settings['crop_size']
            pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
            if pad_h or pad_w:  # smaller than one window: pad (bottom/right), cut off again after
                inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=0)
                sample.set_metainfo(dict(padding_size=[0, pad_w, 0, pad_h]))
            self.model.test_cfg = ConfigDict(mode='slide', crop_size=(ch, cw), stride=self.settings['stride'])
            sh, sw = self.settings['scale']
            scale = f'{sh:.3f}' if abs(sh - sw) < 1e-9 else f'{sh:.3f}x{sw:.3f} (h x w)'
            what = (f'{WHOLE}: {ori} rescaled by {scale} ({self.settings["scale_source"]}) to {h}x{w}, '
                    f'sliding {ch}x{cw} windows with stride {self.settings["stride"][0]}x{self.settings["stride"][1]}'
                    + (f' (padded by {pad_h}x{pad_w})' if pad_h or pad_w else '') + f', mapped back to {ori}')
        weight = next(self.model.parameters(), None)  # the handcrafted segmentors have none
        cuda = [weight.device.index or 0] if weight is not None and weight.device.type == 'cuda' else []
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=cuda):
                if self.seed is not None:
                    torch.manual_seed(self.seed)
                result = self.model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
        finally:
            self.model.test_cfg = self.test_cfg
        pred = result.pred_sem_seg.data[0].cpu().numpy().astype('uint8')
        if pred.shape != rgb.shape[:2]:  # a RuntimeError, so that a tool can list the image as failed and go on
            raise RuntimeError(f'{img_path or "input"}: segmentation is {pred.shape}, image is {rgb.shape[:2]}')
        if mode == WHOLE and self.settings['min_area'] > 0:
            from hemaseg.field_eval import remove_small_regions

            # the threshold is set in network-input pixels, where the training nuclei have their size
            source_px = math.ceil(self.settings['min_area'] / (sh * sw))
            pred, removed = remove_small_regions(pred, source_px)
            what += (f'; {removed} component(s) under {self.settings["min_area"]:g} network-input px '
                     f'({source_px} px here) removed')
        return pred, what
