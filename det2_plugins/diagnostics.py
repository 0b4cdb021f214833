"""Training diagnostics for Detectron2 runs: per-module gradient norms and attention-gate statistics.

Written to find why R-Mask R-CNN's from-scratch training can collapse (a loss spike, then every RoI
classified as background). ``DIAGNOSTICS.ENABLED True`` adds :class:`TrainingDiagnostics` to
``det2_plugins.engine.Trainer``; every ``DIAGNOSTICS.PERIOD`` iterations it appends one JSON line to
``OUTPUT_DIR/diagnostics.jsonl`` (``metrics.json`` keeps only every 20th iteration) with the losses and:

* ``grad_norm/<module>``: the L2 norm of the gradients of each module group (backbone stages, the
  neck's lateral / output convolutions and attentions, RPN, box head, box predictor, mask head)
  and ``grad_norm/total``, before gradient clipping;
* ``attn/<module>/max`` and ``attn/<module>/mean``: the gates of every B-U-CA-SA attention
  (:class:`hemaseg.blocks.attention_fpn.SoftmaxChannelAttention` / ``SoftmaxSpatialAttention``),
  i.e. the factor each channel or pixel is multiplied by (mean 1 by construction); a gate of
  ``max`` K multiplies one channel or pixel by K.

It synchronises with the device at every logged iteration; leave it off for timing runs.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict

import torch
from detectron2.engine import HookBase

from hemaseg.blocks.attention_fpn import SoftmaxChannelAttention, SoftmaxSpatialAttention

GROUP_DEPTH = {'backbone.bottom_up': 3, 'backbone.neck': 4, 'backbone': 3, 'roi_heads': 2, 'proposal_generator': 1}


def module_group(param_name: str) -> str:
    """The group a parameter's gradient is summed into: e.g. ``backbone.bottom_up.res3``,
    ``backbone.neck.top_down_attentions.1``, ``roi_heads.box_predictor``, ``proposal_generator``."""
    parts = param_name.split('.')
    for prefix, depth in GROUP_DEPTH.items():
        if param_name.startswith(prefix + '.'):
            return '.'.join(parts[:depth])
    return parts[0]


class _AfterBackward(HookBase):
    """Registered on the inner trainer, whose ``run_step`` calls ``after_backward`` (the outer
    ``DefaultTrainer`` only delegates ``run_step``, so its own hooks never see that moment)."""

    def __init__(self, callback):
        self.callback = callback

    def after_backward(self):
        self.callback()


class TrainingDiagnostics(HookBase):
    """See the module docstring."""

    def __init__(self, period: int = 1):
        self.period = max(1, int(period))
        self._row: dict = {}
        self._handles: list = []
        self._file = None

    def _logging(self) -> bool:
        return self.trainer.iter % self.period == 0

    def before_train(self):
        model = getattr(self.trainer.model, 'module', self.trainer.model)
        for name, module in model.named_modules():
            if isinstance(module, (SoftmaxChannelAttention, SoftmaxSpatialAttention)):
                self._handles.append(module.register_forward_hook(self._gate_hook(name)))
        inner = getattr(self.trainer, '_trainer', self.trainer)
        inner.register_hooks([_AfterBackward(self._gradient_norms)])
        self._file = open(os.path.join(self.trainer.cfg.OUTPUT_DIR, 'diagnostics.jsonl'), 'a')

    def _gate_hook(self, name):
        def hook(module, inputs, output):
            if module.training and self._logging():
                with torch.no_grad():
                    gate = module.gate(inputs[0])  # the factor applied: mean 1 (sum 1 if literal)
                    self._row[f'attn/{name}/max'] = float(gate.max())
                    self._row[f'attn/{name}/mean'] = float(gate.float().mean())
        return hook

    def _gradient_norms(self):
        if not self._logging():
            return
        model = getattr(self.trainer.model, 'module', self.trainer.model)
        squares = defaultdict(float)
        for name, p in model.named_parameters():
            if p.grad is not None:
                squares[module_group(name)] += float(p.grad.detach().float().square().sum())
        self._row.update({f'grad_norm/{k}': v ** 0.5 for k, v in squares.items()})
        self._row['grad_norm/total'] = sum(squares.values()) ** 0.5

    def after_step(self):
        if not self._logging():
            return
        storage = self.trainer.storage
        losses = {k: v[0] for k, v in storage.latest().items() if 'loss' in k or k.startswith('fast_rcnn/')}
        self._file.write(json.dumps({'iteration': self.trainer.iter, **losses, **self._row}) + '\n')
        self._file.flush()
        self._row = {}

    def after_train(self):
        for h in self._handles:
            h.remove()
        if self._file:
            self._file.close()
