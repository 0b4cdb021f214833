"""Gradient class-activation maps of an image classifier (spec 002 §2.5, Figs. 8-10).

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

The four maps of the paper come from the ``pytorch_grad_cam`` library (grad-cam 1.5.7), which
the spec reads the method names from: Grad-CAM, Grad-CAM++, HiResCAM and XGrad-CAM (the
paper gives no formulas; the library's definitions are those of refs. [34]-[37], spec §2.5).
Nothing here re-implements a CAM; this module only

* wraps a classifier so that ``forward(x)`` returns its class scores before softmax
  (:class:`LogitsModel`; the CAM targets are logits y^c, as in the references),
* finds the target layer (:func:`default_target_layer`, :func:`resolve_target_layer`),
* runs the chosen methods for one target class (:func:`compute_cams`) and
* draws the figure: input + one jet overlay per method, red = more attention, as in the
  paper's captions (:func:`cam_grid`).

Choices (spec §2.7 #10, target layer and class not stated): the target class defaults to
the predicted one; the target layer defaults to the last block of the backbone's last stage
(ResNet: ``backbone.layer4[-1]``), found generically as the **innermost non-leaf module whose
output is the last spatial (N x C x H x W) feature map of the forward pass**, i.e. the map the
classifier pools. For MMPretrain's DenseNet this is ``backbone.transitions[-1]`` (the final
BN + activation after the last dense block; a leaf there is the backbone's shared activation
module, which runs more than once per forward pass and so cannot be hooked). The maps are the
library's output: ReLU, bilinear upsampling to the input size and min-max scaling to [0, 1].

Torch and pytorch_grad_cam only; no OpenMMLab import.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
from torch import nn

# name on the command line -> (title in figures, pytorch_grad_cam class name)
CAM_METHODS = {
    'gradcam': ('Grad-CAM', 'GradCAM'),
    'gradcam++': ('Grad-CAM++', 'GradCAMPlusPlus'),
    'hirescam': ('HiResCAM', 'HiResCAM'),
    'xgradcam': ('XGrad-CAM', 'XGradCAM'),
}


class LogitsModel(nn.Module):
    """``forward(x) = model(x, **call_kwargs)``, checked to be an N x K score tensor.

    pytorch_grad_cam calls the model with the input batch only and takes the output as class
    scores; an MMPretrain classifier needs ``mode='tensor'`` to return its head's logits.
    """

    def __init__(self, model: nn.Module, **call_kwargs):
        super().__init__()
        self.model = model
        self.call_kwargs = call_kwargs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x, **self.call_kwargs)
        if not isinstance(out, torch.Tensor) or out.ndim != 2:
            what = f'a {type(out).__name__}' if not isinstance(out, torch.Tensor) else f'shape {tuple(out.shape)}'
            raise TypeError(f'the classifier must return N x num_classes scores for CAMs, got {what}')
        return out


def trace_spatial_outputs(model: nn.Module, example: torch.Tensor,
                          forward: Callable[[torch.Tensor], object] | None = None) -> list[dict]:
    """Run ``forward(example)`` (default ``model(example)``) once and list every submodule call
    that returned an N x C x H x W tensor, in the order the calls finished.

    Each entry: ``name`` (dotted, as in ``model.named_modules()``), ``module``, ``shape``,
    ``leaf`` (no children), ``output`` (the tensor), ``calls`` (how often the module ran in
    the pass; > 1 for shared modules).
    """
    records, calls, handles = [], {}, []
    names = {id(m): n for n, m in model.named_modules() if n}

    def hook(module, _inputs, output):
        name = names[id(module)]
        calls[name] = calls.get(name, 0) + 1
        if isinstance(output, torch.Tensor) and output.ndim == 4:
            records.append({'name': name, 'module': module, 'shape': tuple(output.shape),
                            'leaf': not any(True for _ in module.children()), 'output': output})

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            (forward or model)(example)
    finally:
        for h in handles:
            h.remove()
    for r in records:
        r['calls'] = calls[r['name']]
    return records


def default_target_layer(model: nn.Module, example: torch.Tensor,
                         forward: Callable[[torch.Tensor], object] | None = None) -> str:
    """Dotted name of the default CAM layer (module doc): the innermost non-leaf module, run
    once per pass, whose output is the last spatial feature map; a leaf if no container qualifies.

    With a ``backbone`` submodule (OpenMMLab classifiers) only its modules count: the neck's
    global pooling also returns N x C x 1 x 1, which is no spatial map.
    """
    records = trace_spatial_outputs(model, example, forward)
    if isinstance(getattr(model, 'backbone', None), nn.Module):
        records = [r for r in records if r['name'].startswith('backbone.')]
    if not records:
        raise ValueError('the model produces no N x C x H x W feature map: no layer to compute a CAM on')
    last = records[-1]['output']
    same = [r for r in records if r['output'] is last and r['calls'] == 1]
    if not same:
        raise ValueError(f'the last feature map comes from a module that runs more than once per pass '
                         f'({records[-1]["name"]}); pass --target-layer')
    containers = [r for r in same if not r['leaf']]
    pick = max(containers or same, key=lambda r: r['name'].count('.'))
    return pick['name']


def _candidates(records: list[dict]) -> list[str]:
    names = [r['name'] for r in records if not r['leaf'] and r['calls'] == 1]
    return list(dict.fromkeys(names))


def resolve_target_layer(model: nn.Module, name: str, example: torch.Tensor,
                         forward: Callable[[torch.Tensor], object] | None = None) -> tuple[str, nn.Module]:
    """``(canonical dotted name, module)`` for ``name`` such as ``backbone.layer4.2``,
    ``backbone.layer4.-1`` or ``backbone.layer4[-1]`` (negative indices count from the end).

    Raises ValueError listing the candidate layers (containers with a spatial output, in
    forward order) when the name does not exist, has no N x C x H x W output, or is a shared
    module that runs several times per pass (pytorch_grad_cam would mix its calls).
    """
    records = trace_spatial_outputs(model, example, forward)
    hint = 'candidates (modules with an N x C x H x W output, in forward order): ' + ', '.join(_candidates(records))
    parts = name.replace('[', '.').replace(']', '').strip('.').split('.')
    module = model
    for i, part in enumerate(parts):
        children = module._modules
        if part in children and children[part] is not None:
            module = children[part]
            continue
        try:
            index = int(part)
        except ValueError:
            index = None
        indexable = isinstance(module, (nn.Sequential, nn.ModuleList))
        if index is not None and indexable and -len(module) <= index < len(module):
            module = module[index]
            continue
        where = '.'.join(parts[:i]) or 'the model'
        raise ValueError(f'target layer {name!r}: {where} has no submodule {part!r} (its children: '
                         f'{", ".join(children) or "none"}); {hint}')
    canonical = next((n for n, m in model.named_modules() if m is module), name)
    mine = [r for r in records if r['module'] is module]
    if not mine:
        raise ValueError(f'target layer {canonical!r} has no N x C x H x W output in a forward pass; {hint}')
    if mine[0]['calls'] > 1:
        raise ValueError(f'target layer {canonical!r} runs {mine[0]["calls"]} times per forward pass (a shared '
                         f'module); CAMs need a layer that runs once; {hint}')
    return canonical, module


def compute_cams(model: nn.Module, target_layer: nn.Module, input_tensor: torch.Tensor, methods: Sequence[str],
                 target_class: int) -> dict[str, np.ndarray]:
    """``{method: H x W float32 CAM in [0, 1]}`` for one image (``input_tensor`` 1 x C x H x W)
    and class ``target_class``; ``model`` returns logits (e.g. a :class:`LogitsModel`)."""
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if input_tensor.ndim != 4 or input_tensor.shape[0] != 1:
        raise ValueError(f'expected one image as a 1 x C x H x W tensor, got {tuple(input_tensor.shape)}')
    cams = {}
    for method in methods:
        if method not in CAM_METHODS:
            raise ValueError(f'unknown CAM method {method!r}; choose from {", ".join(CAM_METHODS)}')
        cls = getattr(pytorch_grad_cam, CAM_METHODS[method][1])
        with cls(model=model, target_layers=[target_layer]) as cam:
            cams[method] = cam(input_tensor=input_tensor, targets=[ClassifierOutputTarget(int(target_class))])[0]
    return cams


def cam_overlay(image_rgb: np.ndarray, cam: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """Jet heat map of ``cam`` (H x W in [0, 1]; red = high) blended over an RGB uint8 image."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f'expected an H x W x 3 uint8 RGB image, got {image_rgb.dtype} {image_rgb.shape}')
    if cam.shape != image_rgb.shape[:2]:
        raise ValueError(f'cam shape {cam.shape} differs from image shape {image_rgb.shape[:2]}')
    return show_cam_on_image(image_rgb.astype(np.float32) / 255, np.clip(cam, 0, 1), use_rgb=True,
                             colormap=cv2.COLORMAP_JET, image_weight=image_weight)


PANEL_MIN = 224    # panels are enlarged (nearest neighbour, an integer factor) to at least this size
GAP = 6            # white pixels between panels
LINE_H = 18        # height of one title line
FONT = cv2.FONT_HERSHEY_SIMPLEX


def panel_scale(h: int, w: int) -> int:
    """Integer enlargement of an ``h`` x ``w`` panel in :func:`cam_grid`."""
    return max(1, math.ceil(PANEL_MIN / max(h, w)))


def _title_strip(lines: Sequence[str], width: int) -> np.ndarray:
    strip = np.full((LINE_H * len(lines) + 4, width, 3), 255, np.uint8)
    for i, text in enumerate(lines):
        scale = 0.45
        while scale > 0.25 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
            scale -= 0.05
        cv2.putText(strip, text, (2, LINE_H * (i + 1) - 4), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def cam_grid(panels: Sequence[tuple[Sequence[str], np.ndarray]]) -> np.ndarray:
    """One row of titled panels: ``[(title lines, RGB uint8 image), ...]``, all of one size.

    Each image is enlarged by :func:`panel_scale` (nearest neighbour, so pixels stay visible),
    topped by its title lines (the longest title sets the strip height) and separated by
    ``GAP`` white pixels. Size: ``(strip + s*h) x (n*s*w + (n-1)*GAP)``.
    """
    if not panels:
        raise ValueError('cam_grid needs at least one panel')
    h, w = panels[0][1].shape[:2]
    if any(im.shape[:2] != (h, w) for _, im in panels):
        raise ValueError('all panels must have the same size')
    s = panel_scale(h, w)
    n_lines = max(len(t) for t, _ in panels)
    columns = []
    for i, (title, image) in enumerate(panels):
        big = cv2.resize(image, (w * s, h * s), interpolation=cv2.INTER_NEAREST)
        lines = list(title) + [''] * (n_lines - len(title))
        columns.append(np.concatenate([_title_strip(lines, w * s), big], axis=0))
        if i < len(panels) - 1:
            columns.append(np.full((columns[-1].shape[0], GAP, 3), 255, np.uint8))
    return np.concatenate(columns, axis=1)
