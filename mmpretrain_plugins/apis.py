"""Inference API of the MMPretrain side, the glue of the classifier tools (``explain.py``,
``cam_energy.py``, ``cluster_analysis.py``, ``classify_instances.py``; spec 002 §2.5-2.6): an
MMPretrain classifier from CONFIG + CHECKPOINT, its test pipeline, a split of its dataset, its class
names, the network input turned back into a picture, and nucleus masks taken through the same
geometry as the images.

Paper: Diaz Resendiz et al., Cancers 15(13), 2023, doi:10.3390/cancers15133376 (docs/papers/002_explainable_cad.md).

Images are preprocessed exactly as in testing: the config's test pipeline
(``test_dataloader.dataset.pipeline``), then the model's data preprocessor (normalisation,
BGR -> RGB). Non-test splits get the test pipeline too, so nothing random is applied.
"""
import argparse
import copy
import os.path as osp

from mmengine_plugins.config import load_config

# Test-pipeline steps that only change pixel values, never where a pixel is: skipped for masks.
VALUE_ONLY_TRANSFORMS = {
    'ColorJitter', 'Lighting', 'Normalize', 'RandomGrayscale', 'GaussianBlur', 'Brightness', 'Contrast',
    'ColorTransform', 'Equalize', 'AutoContrast', 'Posterize', 'Solarize', 'SolarizeAdd', 'Sharpness', 'Invert',
    'MaskOutsideNucleus',  # mmpretrain_plugins: zeroes the pixels outside the nucleus ("Segmented" input)
}
SPLITS = ('test', 'val', 'train')


def add_model_args(parser) -> None:
    from mmengine.config import DictAction
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.dataset.data_root=DIR')


def load_cls_config(args):
    """The config with ``--cfg-options`` and ``{fold}`` templates applied (:func:`mmengine_plugins.config.load_config`)."""
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: {args.checkpoint} does not exist')
    ns = argparse.Namespace(config=args.config, cfg_options=args.cfg_options, launcher='none', local_rank=0,
                            work_dir=None)
    return load_config(ns)


def test_pipeline_cfg(cfg) -> list:
    """The pipeline testing runs: ``test_dataloader.dataset.pipeline`` (a "Segmented" config sets it
    there while the top-level ``test_pipeline`` may be another one), else ``test_pipeline``."""
    pipeline = cfg.test_dataloader.dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise SystemExit('error: the config has no test pipeline (test_pipeline or test_dataloader.dataset.pipeline)')
    return [dict(copy.deepcopy(t)) for t in pipeline]


class Classifier:
    """An MMPretrain classifier ready for CAMs: ``preprocess`` (file -> network input),
    ``logits_model`` (``forward(x)`` -> N x K logits), ``class_names`` and ``display_rgb``; and for
    images already in memory (cell crops, masked images), ``classify_arrays`` (RGB arrays -> N x K
    softmax probabilities) through ``array_pipeline``: the test pipeline without its loading step
    and without the steps in ``ARRAY_DROPPED_STEPS`` (listed in ``array_dropped``)."""

    # Dropped for in-memory inputs besides the loading: the precomputed-mask step, since whoever hands
    # over an array has done the masking (e.g. from detections, as MaskOutsideNucleus does from files).
    ARRAY_DROPPED_STEPS = ('MaskOutsideNucleus', )

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu'):
        import torch
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        from mmengine.runner import load_checkpoint

        import mmengine_plugins  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
        from hemaseg.cam import LogitsModel
        init_default_scope('mmpretrain')
        from mmpretrain.apis import init_model
        from mmpretrain.registry import TRANSFORMS

        self.cfg = cfg
        self.device = torch.device(device)
        self.model = init_model(cfg, None, device='cpu')
        try:  # strict: a checkpoint of another architecture must fail, not leave random weights
            ckpt = load_checkpoint(self.model, checkpoint, map_location='cpu', strict=True, logger='silent')
        except (RuntimeError, KeyError, OSError) as e:
            raise SystemExit(f'error: cannot load {checkpoint} into the model of {cfg.filename}: {e}') from None
        self.model.to(self.device).eval()
        self.pipeline_cfg = test_pipeline_cfg(cfg)
        self.pipeline = Compose([TRANSFORMS.build(t) for t in self.pipeline_cfg])
        array_steps, self.array_dropped = [], []  # configs kept; names of the steps dropped
        for t in self.pipeline_cfg:
            kind = t['type'] if isinstance(t['type'], str) else getattr(t['type'], '__name__', str(t['type']))
            if kind.startswith('Load') or kind in self.ARRAY_DROPPED_STEPS:
                self.array_dropped.append(kind)
            else:
                array_steps.append(t)
        self.array_steps = [t['type'] for t in array_steps]
        self.array_pipeline = Compose([TRANSFORMS.build(t) for t in array_steps])
        self.class_names = self._class_names(ckpt)
        self.logits_model = LogitsModel(self.model, mode='tensor').eval()

    def _class_names(self, ckpt) -> list:
        """From the checkpoint's ``meta.dataset_meta`` (what the model was trained with), else the
        config's test dataset ``metainfo.classes`` / ``classes``; None if neither has them."""
        meta = (ckpt.get('meta') or {}).get('dataset_meta') or {} if isinstance(ckpt, dict) else {}
        ds = self.cfg.test_dataloader.dataset
        classes = meta.get('classes') or (ds.get('metainfo') or {}).get('classes') or ds.get('classes')
        return list(classes) if classes and not isinstance(classes, str) else None

    def use_dataset_classes(self, dataset) -> None:
        """Fall back on ``dataset.metainfo['classes']`` (e.g. read from ``meta.json``) when neither
        the checkpoint nor the config names the classes."""
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if self.class_names is None and classes:
            self.class_names = list(classes)

    def names_for(self, num_classes: int) -> list:
        names = self.class_names or [f'class {i}' for i in range(num_classes)]
        if len(names) != num_classes:
            raise SystemExit(f'error: the model outputs {num_classes} scores but the config/checkpoint name '
                             f'{len(names)} classes: {names}')
        return names

    def batch_inputs(self, items: list):
        """Network input (N x C x H x W, normalised, on the device) of pipeline outputs ``items``."""
        from mmengine.dataset import pseudo_collate
        return self.model.data_preprocessor(pseudo_collate(items), False)['inputs'].to(self.device)

    def preprocess(self, path: str):
        """``(1 x C x H x W network input, pipeline output)`` of an image file; OSError/ValueError
        if it cannot be read."""
        try:
            data = self.pipeline(dict(img_path=path))
        except Exception as e:  # mmcv raises assorted errors on unreadable files
            raise ValueError(f'cannot read or preprocess {path}: {type(e).__name__}: {e}') from None
        if data is None:
            raise ValueError(f'the test pipeline dropped {path}')
        return self.batch_inputs([data]), data

    def probabilities(self, inputs):
        """K softmax probabilities (numpy) of the first network input of ``inputs``."""
        import torch
        with torch.no_grad():
            logits = self.logits_model(inputs)[0].float().cpu()
        return torch.softmax(logits, dim=0).numpy()

    def classify_arrays(self, images):
        """N x K softmax probabilities of H x W x 3 RGB uint8 ``images`` (a list or an N x H x W x 3
        array), each through ``array_pipeline`` and the data preprocessor, as ``preprocess`` takes a file."""
        import numpy as np
        probs = []
        for rgb in images:  # one at a time: crops differ in size unless the pipeline resizes them
            bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # the file loader gives BGR; the preprocessor converts
            data = self.array_pipeline(dict(img=bgr, img_shape=bgr.shape[:2], ori_shape=bgr.shape[:2]))
            probs.append(self.probabilities(self.batch_inputs([data])))
        return np.stack(probs)

    def output_names(self) -> list:
        """Names of the model's outputs: ``class_names`` (checkpoint, config), else the test dataset's
        classes (e.g. its ``meta.json``), else ``class <i>``; SystemExit if their number is wrong."""
        if self.class_names is None:
            try:
                self.use_dataset_classes(build_split(self.cfg, 'test')[0])
            except SystemExit:
                print('class names: not in the checkpoint, the config or a readable test dataset; using indices')
        k = getattr(self.model.head, 'num_classes', None)
        if k is None:  # a head without num_classes: count the outputs on a grey image
            import numpy as np
            k = self.classify_arrays(np.full((1, 64, 64, 3), 128, np.uint8))[0].shape[0]
        return self.names_for(k)

    def display_rgb(self, inputs):
        """The first network input of ``inputs`` as the model saw it, un-normalised: H x W x 3 RGB uint8."""
        import numpy as np
        dp = self.model.data_preprocessor
        x = inputs[0].detach().float().cpu()
        if getattr(dp, '_enable_normalize', False):
            x = x * dp.std.cpu() + dp.mean.cpu()
        if x.shape[0] == 3 and not getattr(dp, 'to_rgb', False):
            x = x[[2, 1, 0]]  # the loader gives BGR; the model saw BGR
        return np.clip(x.permute(1, 2, 0).numpy().round(), 0, 255).astype(np.uint8)


def target_layer(clf: Classifier, name, example):
    """``(dotted name, module)`` of the CAM layer: ``name`` or the default (``hemaseg.cam``);
    SystemExit with the candidates if ``name`` is wrong."""
    from hemaseg.cam import default_target_layer, resolve_target_layer
    try:
        if not name:
            name = default_target_layer(clf.model, example, forward=clf.logits_model)
        return resolve_target_layer(clf.model, name, example, forward=clf.logits_model)
    except ValueError as e:
        raise SystemExit(f'error: {e}') from None


def parse_target_class(value: str, choices=('predicted', )):
    """``--target-class``: one of ``choices`` or a class index."""
    if value in choices:
        return value
    try:
        index = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected {" / ".join(choices)} or a class index, got {value!r}') from None
    if index < 0:
        raise argparse.ArgumentTypeError(f'class index must be >= 0, got {index}')
    return index


def explain_input(clf: Classifier, layer, x, methods, target_class, true_label=None) -> dict:
    """Logits, softmax probabilities, prediction and the CAMs of ``methods`` for the target class
    (``'predicted'``, ``'true'`` (needs ``true_label``) or an index) of one network input ``x``."""
    import torch

    from hemaseg.cam import compute_cams
    with torch.no_grad():
        logits = clf.logits_model(x)[0].float().cpu()
    probs = torch.softmax(logits, dim=0).numpy()
    pred = int(probs.argmax())
    if target_class == 'predicted':
        target = pred
    elif target_class == 'true':
        target = int(true_label)
    else:
        target = int(target_class)
        if target >= len(probs):
            raise SystemExit(f'error: --target-class {target} but the model has {len(probs)} classes')
    cams = compute_cams(clf.logits_model, layer, x, methods, target)
    return {'logits': logits.numpy(), 'probs': probs, 'pred': pred, 'target': target, 'cams': cams}


def _set_pipeline(ds_cfg, pipeline) -> None:
    """Give a dataset config (and the datasets inside wrappers) the test pipeline."""
    if 'pipeline' in ds_cfg or not ('dataset' in ds_cfg or 'datasets' in ds_cfg):
        ds_cfg['pipeline'] = copy.deepcopy(pipeline)
    if isinstance(ds_cfg.get('dataset'), dict):
        _set_pipeline(ds_cfg['dataset'], pipeline)
    for sub in ds_cfg.get('datasets') or []:
        _set_pipeline(sub, pipeline)


def build_split(cfg, split: str):
    """``(dataset, dataset config)`` of ``{split}_dataloader`` with the test pipeline."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS

    key = f'{split}_dataloader'
    if split not in SPLITS or not cfg.get(key):
        raise SystemExit(f'error: the config has no {key} (split must be one of {", ".join(SPLITS)})')
    ds_cfg = copy.deepcopy(cfg[key].dataset)
    _set_pipeline(ds_cfg, test_pipeline_cfg(cfg))
    try:
        dataset = DATASETS.build(ds_cfg)
    except (OSError, ValueError, AssertionError) as e:
        raise SystemExit(f'error: cannot build the {split} dataset ({ds_cfg.get("data_root")}, '
                         f'{ds_cfg.get("ann_file")}): {type(e).__name__}: {e}') from None
    if len(dataset) == 0:
        raise SystemExit(f'error: the {split} dataset is empty ({ds_cfg.get("ann_file")})')
    return dataset, ds_cfg


def mask_path_for(img_path: str, dataset, masks_root: str) -> str:
    """``<masks_root>/<class>/<stem>.png`` for ``<img_prefix>/<class>/<file>`` (the classification
    layout); the sub-path below the dataset's image prefix is kept."""
    prefix = getattr(dataset, 'img_prefix', None)
    rel = osp.relpath(img_path, prefix) if prefix else osp.join(osp.basename(osp.dirname(img_path)),
                                                                 osp.basename(img_path))
    if rel.startswith('..'):
        rel = osp.join(osp.basename(osp.dirname(img_path)), osp.basename(img_path))
    return osp.join(masks_root, osp.splitext(rel)[0] + '.png')


class MaskGeometry:
    """Takes a nucleus mask through the geometric steps of the test pipeline.

    The mask (non-zero = nucleus, as ``MaskOutsideNucleus`` reads it) is fed as a 0/255 3-channel
    image through every step between loading and packing, except those known to change values
    only (``VALUE_ONLY_TRANSFORMS``), so each Resize / ResizeEdge / CenterCrop / Pad moves its
    pixels exactly as it moves the image's. Resizing
    interpolates the 0/255 mask like the image; the result is binarised at 128, i.e. the mask
    boundary is where the resized soft mask crosses one half. A step the tool does not know is
    applied too (if it only changes values, the threshold undoes mild changes such as noise).
    """

    def __init__(self, pipeline_cfg: list):
        from mmengine.dataset import Compose
        from mmpretrain.registry import TRANSFORMS

        steps, self.skipped = [], []
        for t in pipeline_cfg:
            kind = t['type'] if isinstance(t['type'], str) else getattr(t['type'], '__name__', str(t['type']))
            if kind.startswith('Load') or kind.startswith('Pack'):
                continue
            if kind in VALUE_ONLY_TRANSFORMS:
                self.skipped.append(kind)
                continue
            steps.append(t)
        self.applied = [t['type'] for t in steps]
        self.pipeline = Compose([TRANSFORMS.build(t) for t in steps])

    def __call__(self, mask_path: str, image_shape: tuple, out_shape: tuple):
        """Boolean mask at the network input size; SystemExit naming the file on any mismatch."""
        import numpy as np

        from hemaseg.data.io import DatasetError, read_mask
        try:
            mask = read_mask(mask_path)
        except DatasetError as e:
            raise SystemExit(f'error: nucleus {e}') from None
        if tuple(mask.shape[:2]) != tuple(image_shape):
            raise SystemExit(f'error: nucleus mask {mask_path} is {mask.shape[0]}x{mask.shape[1]} but its image is '
                             f'{image_shape[0]}x{image_shape[1]}')
        img = np.repeat(np.where(mask > 0, 255, 0).astype(np.uint8)[..., None], 3, axis=2)
        out = self.pipeline(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], img_path=mask_path))
        result = out['img'][..., 0] >= 128
        if result.shape != tuple(out_shape):
            raise SystemExit(f'error: nucleus mask {mask_path} became {result.shape} through the test pipeline '
                             f'({" -> ".join(self.applied)}) but the network input is {tuple(out_shape)}')
        return result


# --------------------------------------------------------------------------- the classifier tools' runs
# What tools/explain.py, tools/cam_energy.py and tools/cluster_analysis.py do once their arguments
# are parsed; ``cfg_options`` is the dict ``--cfg-options`` gives (mmengine's DictAction).

def _load_for(config: str, checkpoint: str, cfg_options):
    """:func:`load_cls_config` from plain arguments instead of a tool's parsed ones."""
    return load_cls_config(argparse.Namespace(config=config, checkpoint=checkpoint, cfg_options=cfg_options))


def explain_panels(rgb, result: dict, methods, class_names) -> list:
    """Titled panels of :func:`hemaseg.cam.cam_grid`: the input, then one overlay per method."""
    from hemaseg.cam import CAM_METHODS, cam_overlay

    pred, target, probs = result['pred'], result['target'], result['probs']
    panels = [(['input (network view)', f'pred {class_names[pred]} p={probs[pred]:.3f}'], rgb)]
    for m in methods:
        panels.append(([f'{CAM_METHODS[m][0]}', f'{class_names[target]} p={probs[target]:.3f}'],
                       cam_overlay(rgb, result['cams'][m])))
    return panels


def explain_images(config: str, checkpoint: str, inputs, out=None, methods=None, target_layer_name=None,
                   target_class='predicted', device: str = 'cpu', cfg_options=None) -> None:
    """``tools/explain.py``: one grid of CAM overlays per image of ``inputs`` (files and folders) in
    ``out`` (default ``work_dirs/explain/CONFIG_NAME``) and ``explain.json``; unreadable inputs are
    listed at the end and exit with status 1 (the others are processed)."""
    import json
    import os
    import sys
    import time

    from hemaseg.cam import CAM_METHODS, cam_grid
    from hemaseg.data.io import write_image
    from hemaseg.instance_inference import IMAGE_EXTS, collect_images, describe_renames, output_names, report_failures
    methods = list(methods or CAM_METHODS)

    files, missing = collect_images(inputs)
    failed = [(p, 'no such file or folder') for p in missing]
    if not files and not failed:
        sys.exit(f'error: no images ({", ".join(IMAGE_EXTS)}) found in {inputs}')
    cfg = _load_for(config, checkpoint, cfg_options)
    out = out or osp.join('work_dirs', 'explain', osp.splitext(osp.basename(config))[0])
    clf = Classifier(cfg, checkpoint, device)
    if clf.class_names is None:  # e.g. a dataset that reads its classes from meta.json
        try:
            clf.use_dataset_classes(build_split(cfg, 'test')[0])
        except SystemExit:
            print('class names: not in the checkpoint, the config or a readable test dataset; using indices')
    names = output_names(files)
    for line in describe_renames(files, names):
        print(line)

    layer, records, t0 = None, [], time.perf_counter()
    for i, path in enumerate(files, 1):
        try:
            x, _ = clf.preprocess(path)
        except ValueError as e:
            failed.append((path, str(e)))
            print(f'[{i}/{len(files)}] {path}: FAILED ({e})')
            continue
        if layer is None:
            layer_name, layer = target_layer(clf, target_layer_name, x)
            print(f'target layer: {layer_name} ({"--target-layer" if target_layer_name else "default"}); '
                  f'methods: {", ".join(methods)}; target class: {target_class}')
        result = explain_input(clf, layer, x, methods, target_class)
        class_names = clf.names_for(len(result['probs']))
        grid = cam_grid(explain_panels(clf.display_rgb(x), result, methods, class_names))
        target_file = osp.join(out, f'{names[i - 1][0]}.png')
        write_image(target_file, grid)
        pred, target = result['pred'], result['target']
        records.append({'image': path, 'output': target_file, 'input_size': list(x.shape[-2:]),
                        'predicted': class_names[pred], 'target_class': class_names[target],
                        'target_index': target, 'probabilities': dict(zip(class_names, map(float, result['probs'])))})
        print(f'[{i}/{len(files)}] {path}: predicted {class_names[pred]} (p={result["probs"][pred]:.3f}), '
              f'CAMs for {class_names[target]} -> {target_file}')
    if records:
        os.makedirs(out, exist_ok=True)
        with open(osp.join(out, 'explain.json'), 'w') as f:
            json.dump({'config': config, 'checkpoint': checkpoint, 'target_layer': layer_name,
                       'methods': methods, 'target_class': target_class, 'images': records}, f, indent=2)
    print(f'{len(records)} image(s) explained in {time.perf_counter() - t0:.1f} s; written to {out}')
    report_failures(failed)


def cam_energy_split(config: str, checkpoint: str, split: str = 'test', masks_root=None, out=None, methods=None,
                     target_layer_name=None, target_class='predicted', device: str = 'cpu', cfg_options=None) -> dict:
    """``tools/cam_energy.py``: the share of CAM energy inside the nucleus mask of every image of
    ``split``, per method; writes ``per_image.csv`` and ``summary.json`` to ``out`` (default
    ``work_dirs/cam_energy/CONFIG_NAME``), prints the table and returns the summary. Masks default
    to ``<data_root>/nucleus_masks``; missing ones are named (all are checked before anything runs)."""
    import csv
    import json
    import os
    import time

    from hemaseg.cam import CAM_METHODS
    from hemaseg.cam_energy import energy_stats, nan_to_none, summarize_energy
    methods = list(methods or CAM_METHODS)

    cfg = _load_for(config, checkpoint, cfg_options)
    out = out or osp.join('work_dirs', 'cam_energy', osp.splitext(osp.basename(config))[0])
    dataset, ds_cfg = build_split(cfg, split)
    if not masks_root:
        if not ds_cfg.get('data_root'):
            raise SystemExit(f'error: the {split} dataset has no data_root; pass --masks-root')
        masks_root = osp.join(ds_cfg['data_root'], 'nucleus_masks')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    mask_paths = [mask_path_for(info['img_path'], dataset, masks_root) for info in infos]
    missing = [(info['img_path'], m) for info, m in zip(infos, mask_paths) if not osp.isfile(m)]
    if missing:
        listed = '\n'.join(f'  {m} (for {img})' for img, m in missing[:10])
        more = f'\n  ... and {len(missing) - 10} more' if len(missing) > 10 else ''
        raise SystemExit(f'error: {len(missing)} of {len(infos)} nucleus masks missing under {masks_root}:\n'
                         f'{listed}{more}')

    clf = Classifier(cfg, checkpoint, device)
    clf.use_dataset_classes(dataset)
    geometry = MaskGeometry(clf.pipeline_cfg)
    print(f'{split} split: {len(infos)} images; masks from {masks_root} through '
          f'{" -> ".join(geometry.applied) or "no geometric step"}'
          + (f' (skipped, value-only: {", ".join(geometry.skipped)})' if geometry.skipped else ''))

    rows, layer, t0 = [], None, time.perf_counter()
    for i, (info, mask_path) in enumerate(zip(infos, mask_paths), 1):
        try:
            data = clf.pipeline(dict(info))
        except Exception as e:  # mmcv raises assorted errors on unreadable files
            raise SystemExit(f'error: cannot read or preprocess {info["img_path"]}: {type(e).__name__}: {e}') from None
        x = clf.batch_inputs([data])
        if layer is None:
            layer_name, layer = target_layer(clf, target_layer_name, x)
            print(f'target layer: {layer_name}; methods: {", ".join(methods)}; target class: {target_class}')
        result = explain_input(clf, layer, x, methods, target_class, true_label=info.get('gt_label'))
        names = clf.names_for(len(result['probs']))
        mask = geometry(mask_path, tuple(data['data_samples'].ori_shape), tuple(x.shape[-2:]))
        row = {'image': info['img_path'], 'mask': mask_path, 'true': names[int(info['gt_label'])]
               if info.get('gt_label') is not None else '', 'predicted': names[result['pred']],
               'target': names[result['target']], 'p_target': float(result['probs'][result['target']])}
        for m in methods:
            s = energy_stats(result['cams'][m], mask)
            row['area_share'] = s['area_share']
            row[f'energy_{m}'] = s['energy_inside']
            row[f'lift_{m}'] = s['lift']
        rows.append(row)
        if i == len(infos) or i % max(1, len(infos) // 10) == 0:
            print(f'[{i}/{len(infos)}] {time.perf_counter() - t0:.1f} s')

    summary = {'config': config, 'checkpoint': checkpoint, 'split': split, 'masks_root': masks_root,
               'target_layer': layer_name, 'target_class': target_class,
               'mask_geometry': geometry.applied, 'num_images': len(rows), 'methods': {}}
    for m in methods:
        summary['methods'][m] = summarize_energy([{'energy_inside': r[f'energy_{m}'], 'area_share': r['area_share'],
                                                   'lift': r[f'lift_{m}']} for r in rows])
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'per_image.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(nan_to_none(summary), f, indent=2)

    print(f'\nCAM energy inside the nucleus mask ({split}, {len(rows)} images; uniform CAM = area share)')
    print(f'{"method":<12}{"mean":>8}{"median":>8}{"area":>8}{"lift":>8}{"undef":>7}')
    for m, s in summary['methods'].items():
        print(f'{m:<12}{s["mean_energy_inside"]:8.3f}{s["median_energy_inside"]:8.3f}{s["mean_area_share"]:8.3f}'
              f'{s["median_lift"]:8.2f}{s["n_undefined"]:7d}')
    print(f'(lift: median of energy / area share per image)\nwritten to {out}')
    return summary


def collect_logits(clf: Classifier, infos: list, batch_size: int):
    """``(N x K logits, N labels)`` of the images in ``infos`` (dataset infos with ``gt_label``)."""
    import time

    import numpy as np
    import torch

    logits, t0 = [], time.perf_counter()
    for start in range(0, len(infos), batch_size):
        chunk = infos[start:start + batch_size]
        items = []
        for info in chunk:
            try:
                items.append(clf.pipeline(dict(info)))
            except Exception as e:  # mmcv raises assorted errors on unreadable files
                raise SystemExit(f'error: cannot read or preprocess {info["img_path"]}: '
                                 f'{type(e).__name__}: {e}') from None
        with torch.no_grad():
            logits.append(clf.logits_model(clf.batch_inputs(items)).float().cpu().numpy())
        print(f'[{min(start + batch_size, len(infos))}/{len(infos)}] {time.perf_counter() - t0:.1f} s')
    labels = [info.get('gt_label') for info in infos]
    if any(v is None for v in labels):
        raise SystemExit('error: the split has images without a label (gt_label); the analysis groups by true class')
    return np.concatenate(logits), np.asarray(labels, int)


def cluster_analysis_split(config: str, checkpoint: str, split: str = 'test', out=None, name=None,
                           batch_size: int = 8, ddof: int = 0, device: str = 'cpu', cfg_options=None) -> dict:
    """``tools/cluster_analysis.py``: the clustering analysis of the logits of ``split``
    (:func:`hemaseg.cluster_analysis.cluster_report`) written to ``out`` (default
    ``work_dirs/cluster_analysis/CONFIG_NAME``): ``cluster_table.md``, ``cluster_report.json``,
    ``logits.csv`` and ``cluster_scatter.png``. Returns the report's summary (without coordinates)."""
    import csv
    import json
    import os

    from hemaseg.cluster_analysis import cluster_report, scatter_plot, table8_markdown
    if batch_size < 1:
        raise SystemExit(f'error: --batch-size must be >= 1, got {batch_size}')

    cfg = _load_for(config, checkpoint, cfg_options)
    name = name or osp.splitext(osp.basename(config))[0]
    out = out or osp.join('work_dirs', 'cluster_analysis', osp.splitext(osp.basename(config))[0])
    dataset, _ = build_split(cfg, split)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    clf = Classifier(cfg, checkpoint, device)
    clf.use_dataset_classes(dataset)
    print(f'{split} split: {len(infos)} images')
    logits, labels = collect_logits(clf, infos, batch_size)
    classes = clf.names_for(logits.shape[1])
    try:
        report = cluster_report(logits, labels, classes, ddof=ddof)
    except ValueError as e:
        raise SystemExit(f'error: {e}') from None
    preds = logits.argmax(axis=1)

    os.makedirs(out, exist_ok=True)
    table = table8_markdown({name: report})
    with open(osp.join(out, 'cluster_table.md'), 'w') as f:
        f.write(f'Prediction cluster analysis, {split} split ({len(labels)} images; spec 002 Table 8)\n\n')
        f.write(table)
    summary = {k: v for k, v in report.items() if k != 'coords'}
    summary.update(model=name, config=config, checkpoint=checkpoint, split=split,
                   accuracy=float((preds == labels).mean()))
    with open(osp.join(out, 'cluster_report.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(out, 'logits.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['image', 'true', 'predicted'] + [f'logit_{c}' for c in classes] + ['pc1', 'pc2'])
        for info, t, p, row, pc in zip(infos, labels, preds, logits, report['coords']):
            w.writerow([info['img_path'], classes[t], classes[p], *map(float, row), *map(float, pc)])
    scatter_plot(osp.join(out, 'cluster_scatter.png'), report, labels, f'{name} ({split})')
    print('\n' + table)
    print(f'accuracy {summary["accuracy"]:.4f}; written to {out}')
    return summary
