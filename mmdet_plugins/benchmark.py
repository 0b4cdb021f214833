"""The MMDetection models of ``tools/benchmark.py --task det`` (YOLACT, YOLACT-CIS, Mask R-CNN,
R-Mask R-CNN): built from their configs (:data:`hemaseg.benchmarking.models.DET_MODELS`) at their
input sizes, timed on a synthetic batch through the whole ``predict`` / ``loss``, with a counter of
their image-level MACs."""
from __future__ import annotations

from typing import Callable, Tuple

from hemaseg.benchmarking.bench import Bench
from hemaseg.benchmarking.models import DET_MODELS, config_path


def det_batch(size: int, batch: int, device: str):
    """A batch of random images with one elliptical cell each, as mmdet's data preprocessor outputs it."""
    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    samples = []
    yy, xx = np.mgrid[:size, :size]
    for _ in range(batch):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        mask = (((yy - size / 2) / (size / 4)) ** 2 + ((xx - size / 2) / (size / 5)) ** 2 <= 1).astype(np.uint8)
        gt = InstanceData()
        gt.bboxes = torch.tensor([[size / 2 - size / 5, size / 4, size / 2 + size / 5, 3 * size / 4]], device=device)
        gt.labels = torch.tensor([0], device=device)
        gt.masks = BitmapMasks(mask[None], size, size)
        s.gt_instances = gt
        samples.append(s)
    return torch.randn(batch, 3, size, size, device=device), samples


def build_det(name: str, batch: int, device: str) -> Tuple[Bench, Callable[[], float]]:
    """An mmdet model (whole ``predict`` / ``loss``) and a function counting its image-level MACs."""
    import torch
    from mmdet.registry import MODELS as REG
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_plugins  # noqa: F401
    register_all_modules()
    config, size, _ = DET_MODELS[name]
    torch.manual_seed(0)
    model = REG.build(Config.fromfile(config_path(config)).model).to(device)
    x, samples = det_batch(size, batch, device)

    def image_level(inp):
        if hasattr(model, 'extract_head_and_proto_feats'):  # YOLACTCIS
            head_feats, proto_feats = model.extract_head_and_proto_feats(inp)
        else:
            head_feats = proto_feats = model.extract_feat(inp)
        if hasattr(model, 'rpn_head'):
            return model.rpn_head(head_feats)
        return model.bbox_head(head_feats), model.mask_head.protonet(proto_feats[0])

    def macs() -> float:
        from torch.utils.flop_counter import FlopCounterMode
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            image_level(x[:1])
        return counter.get_total_flops() / 2

    def loss():
        return model.parse_losses(model.loss(x, samples))[0]

    bench = Bench(model, lambda: model.predict(x, samples), loss,
                  lambda params: torch.optim.SGD(params, lr=1e-4, momentum=0.9))
    return bench, macs

