"""Run a trained checkpoint of any OpenMMLab config on image files: masks and contour overlays out.

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_DIR [...] --out DIR [--device cuda:0]

Semantic segmentation (mmseg configs): ``DIR/masks/<stem>.png`` (class indices) and
``DIR/overlays/<stem>.png`` (contour of ``--label``).
Instance segmentation (mmdet configs, ``default_scope = 'mmdet'``): ``DIR/overlays/<stem>.png``
(each instance's contour and score), ``DIR/instances/<stem>.png`` (16-bit instance ids) and
``DIR/predictions.json`` (COCO-style results with RLE masks); ``--score-thr`` selects instances.
Unreadable inputs are listed at the end and make the exit status 1; none is skipped silently.
"""
import argparse
import os
import os.path as osp
import sys

from _common import REPO_ROOT  # noqa: F401  (repo root on sys.path)


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


def segment(args, files, failed) -> None:
    import cv2
    from mmseg.apis import inference_model, init_model

    import mmseg_plugins  # noqa: F401
    from hemaseg.instance_inference import read_images
    from hemaseg.viz import draw_contour_overlay

    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(osp.join(args.out, 'masks'), exist_ok=True)
    os.makedirs(osp.join(args.out, 'overlays'), exist_ok=True)
    written = 0
    for i, path, rgb in read_images(files, failed):
        pred = inference_model(model, rgb[:, :, ::-1].copy()).pred_sem_seg.data[0].cpu().numpy().astype('uint8')
        stem = osp.splitext(osp.basename(path))[0]
        cv2.imwrite(osp.join(args.out, 'masks', f'{stem}.png'), pred)
        overlay = draw_contour_overlay(rgb, pred, None, label=args.label)
        cv2.imwrite(osp.join(args.out, 'overlays', f'{stem}.png'), overlay[:, :, ::-1])
        written += 1
        print(f'[{i}/{len(files)}] {path}: {int((pred == args.label).sum())} pixels of class {args.label}')
    print(f'{written} image(s) written to {args.out}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('inputs', nargs='+', help='image files and/or folders of images')
    ap.add_argument('--out', required=True)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--label', type=int, default=1, help='segmentation: class whose contour is drawn (1: nucleus)')
    ap.add_argument('--score-thr', type=float, default=0.3, help='instance segmentation: minimum score kept')
    args = ap.parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: {path} does not exist')
    from hemaseg.instance_inference import IMAGE_EXTS, collect_images, report_failures, run_instance_inference
    files, missing = collect_images(args.inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {args.inputs}')

    from mmengine.config import Config
    config = Config.fromfile(args.config)
    if config.get('default_scope') == 'mmdet':
        predict = mmdet_predictor(config, args.checkpoint, args.device)
        _, failed = run_instance_inference(files, predict, args.out, args.score_thr, failed)
    else:
        segment(args, files, failed)
    report_failures(failed)


if __name__ == '__main__':
    main()
