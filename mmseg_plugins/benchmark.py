"""The MMSegmentation models of ``tools/benchmark.py``: the segmentation models of ``--task seg``
and the MONAI U-Net and ensemble of ``--task cad``, built from their configs (the tables of
:mod:`hemaseg.benchmarking.models`) and wrapped as :class:`~hemaseg.benchmarking.bench.Bench`."""
from __future__ import annotations

from typing import Callable, Tuple

from hemaseg.benchmarking.bench import Bench, check_size_divisor, network_input, seg_bench, synthetic_smear
from hemaseg.benchmarking.models import CAD_MODELS, MODELS, config_path
from mmengine_plugins.benchmark import model_macs


def build_mmseg(name: str, config: str, size: int, device: str, cfg=None):
    """The mmseg model of ``config`` (or of the already loaded ``cfg``) on ``device``, with seeded
    initial weights; ValueError when ``size`` does not suit its data preprocessor's padding."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS as REG
    from mmseg.utils import register_all_modules

    import mmseg_plugins  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    cfg = cfg or Config.fromfile(config_path(config))
    model = REG.build(cfg.model).to(device)
    check_size_divisor(name, config, model, size)
    return model


def build_seg(name: str, size: int, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """A segmentation model (``encode_decode`` on the synthetic images) and a function counting its MACs."""
    import torch
    model = build_mmseg(name, MODELS[name], size, device)
    x = network_input(synthetic_smear(batch, size), model.data_preprocessor, device)
    target = torch.randint(0, 2, (batch, size, size), device=device)
    one_channel = getattr(getattr(model, 'decode_head', None), 'out_channels', None) == 1
    note = 'one sigmoid output channel (mmseg binary mode): trained with BCE-with-logits' if one_channel else ''
    return seg_bench(model, x, target, note=note), model_macs(model, x)


def build_cad_segmentor(name: str, size: int, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """A ``'segmentor'`` or ``'ensemble'`` entry of :data:`~hemaseg.benchmarking.models.CAD_MODELS`
    (its ``predict``; a training step for the segmentor only) and its MAC counter."""
    import torch
    config, kind = CAD_MODELS[name]
    if kind not in ('segmentor', 'ensemble'):
        raise ValueError(f'CAD_MODELS[{name!r}] is a {kind!r}, not an mmseg segmentor or ensemble')
    model = build_mmseg(name, config, size, device)
    x = network_input(synthetic_smear(batch, size), model.data_preprocessor, device)
    if kind == 'ensemble':
        bench = Bench(model, lambda: model.predict(x),
                      note='EnsembleNucleusSegmentor.predict on the in-memory batch (per image: the U-Net\'s '
                           'predict, the handcrafted mask of the input de-normalised back to uint8 RGB (no '
                           'img_path, so no file is re-read; with the U-Net\'s [0, 1] scaling that is the '
                           'image itself), AND + area opening, Eq. 12): inference only, no training step; '
                           'params and GMACs are its U-Net\'s (the handcrafted part is not counted)')
    else:
        target = torch.randint(0, 2, (batch, size, size), device=device)
        bench = seg_bench(model, x, target, infer=lambda: model.predict(x),
                          note='inference = predict (logits, argmax: the mask); training = encode_decode + '
                               'cross-entropy + AdamW')
    return bench, model_macs(model, x)
