"""The MMPretrain classifier of ``tools/benchmark.py --task cad`` (the ResNet-50 Medium-Mish of
spec 002), built from its config (:data:`hemaseg.benchmarking.models.CAD_MODELS`) and wrapped as a
:class:`~hemaseg.benchmarking.bench.Bench`.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md)."""
from __future__ import annotations

from typing import Callable, Tuple

from hemaseg.benchmarking.bench import Bench, adamw, network_input, synthetic_smear
from hemaseg.benchmarking.models import CAD_MODELS, CLASSIFIER_SIZE, config_path
from mmengine_plugins.benchmark import model_macs


def build_classifier(name: str, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """A ``'classifier'`` entry of ``CAD_MODELS`` at :data:`CLASSIFIER_SIZE` (whatever the
    segmentation size): ``tensor`` mode logits, cross-entropy + AdamW training; and its MAC counter."""
    import torch
    import torch.nn.functional as F
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmpretrain_plugins  # noqa: F401  (ActivationResNet, Mish)
    from mmpretrain.registry import MODELS as CLS
    config, kind = CAD_MODELS[name]
    if kind != 'classifier':
        raise ValueError(f'CAD_MODELS[{name!r}] is a {kind!r}, not a classifier')
    cfg = Config.fromfile(config_path(config))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # its sub-modules are built from this scope
        model = CLS.build(cfg.model).to(device)
    x = network_input(synthetic_smear(batch, CLASSIFIER_SIZE), model.data_preprocessor, device)
    labels = torch.randint(0, model.head.num_classes, (batch,), device=device)

    def forward():
        return model(x, mode='tensor')

    bench = Bench(model, forward, lambda: F.cross_entropy(forward(), labels), adamw,
                  note=f'classifier at {CLASSIFIER_SIZE}x{CLASSIFIER_SIZE} whatever --size (spec 002 §4.3); '
                       'tensor mode (logits); training = cross-entropy + AdamW')
    return bench, model_macs(model, x)
