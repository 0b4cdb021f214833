"""Inference API of the mmdet side: one predictor for every mmdet config, used by ``tools/infer.py``,
``tools/classify_instances.py`` and ``tools/precompute_masks.py``."""
from __future__ import annotations


def mmdet_predictor(config, checkpoint: str, device: str):
    """``predict(rgb) -> InstancePrediction`` for an mmdet config."""
    from mmdet.apis import inference_detector, init_detector

    import mmdet_plugins  # noqa: F401  (registrations + checkpoint allow-list)
    from hemaseg.instance_inference import InstancePrediction

    # Images come without annotations: drop the test pipeline's LoadAnnotations.
    for loader in ('test_dataloader', 'val_dataloader'):
        ds = config[loader].dataset
        ds.pipeline = [t for t in ds.pipeline if t['type'] != 'LoadAnnotations']
    model = init_detector(config, checkpoint, device=device)

    def predict(rgb):
        inst = inference_detector(model, rgb[:, :, ::-1].copy()).pred_instances.cpu()
        return InstancePrediction(inst.masks.numpy().astype(bool), inst.bboxes.numpy(), inst.scores.numpy(),
                                  inst.labels.numpy())

    return predict
