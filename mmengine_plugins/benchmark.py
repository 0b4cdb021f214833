"""The MMEngine parts of ``tools/benchmark.py`` that every OpenMMLab side shares: counting a model's
multiply-accumulates with ``mmengine.analysis``, and the handcrafted nucleus algorithm of the
explainable-CAD pipeline, whose parameters come from an MMEngine config. The models of each
framework are built in ``mmseg_plugins.benchmark``, ``mmdet_plugins.benchmark`` and
``mmpretrain_plugins.benchmark``."""
from __future__ import annotations

import os.path as osp
from typing import Callable, Tuple

from hemaseg.benchmarking.bench import Bench, handcrafted_bench, synthetic_smear
from hemaseg.benchmarking.models import CAD_MODELS, config_path


def model_macs(model, x) -> Callable[[], float]:
    """A function counting the MACs of ``model(x[:1])`` (one image; for an mmseg segmentor or an
    MMPretrain classifier that is its ``tensor`` mode: backbone + head) with ``mmengine.analysis``."""
    def macs() -> float:
        import torch
        from mmengine.analysis import get_model_complexity_info
        model.eval()
        with torch.no_grad():
            return get_model_complexity_info(model, inputs=(x[:1],), show_table=False, show_arch=False)['flops']
    return macs


def build_handcrafted(name: str, size: int, batch: int) -> Tuple[Bench, None]:
    """The handcrafted entry of :data:`~hemaseg.benchmarking.models.CAD_MODELS` (Algorithm 1 with the
    Table A1 parameters its config sets) on synthetic images; no MAC counter (None)."""
    from mmengine.config import Config

    from hemaseg.handcrafted import HandcraftedParams
    config, _ = CAD_MODELS[name]
    cfg = Config.fromfile(config_path(config))
    params = HandcraftedParams(**cfg.model.get('handcrafted', {}))  # Table A1, as the config sets it
    return handcrafted_bench(params, synthetic_smear(batch, size), osp.basename(config)), None
