"""Data glue for Detectron2: COCO folders written by our converters, and the input resize.

``register_coco_folder(root, name)`` registers every ``root/annotations/<split>.json`` (with
images under ``root/images``) as ``<name>_<split>``, e.g. ``wbc_coco_fold0_train``.
``build_mapper(cfg, is_train)`` is Detectron2's ``DatasetMapper`` with YOLACT's exact
``INPUT.FIXED_SIZE`` resize when that key is set.
"""
from __future__ import annotations

from pathlib import Path

from detectron2.data import DatasetCatalog, DatasetMapper, MetadataCatalog
from detectron2.data import detection_utils
from detectron2.data import transforms as T
from detectron2.data.datasets import register_coco_instances


class DatasetNotFoundError(FileNotFoundError):
    """A configured COCO folder or split does not exist."""


def register_coco_folder(root: str | Path, name: str = "wbc_coco") -> list[str]:
    """Register ``root/annotations/*.json`` as ``<name>_<stem>``; returns the registered names.

    Calling twice with the same folder is harmless; the same name for another folder is an error
    (Detectron2's catalog is process-wide, so it would silently keep the first folder).
    """
    root = Path(root)
    ann_dir, img_dir = root / "annotations", root / "images"
    for path, what in ((root, "COCO folder"), (ann_dir, "annotation folder"), (img_dir, "image folder")):
        if not path.is_dir():
            raise DatasetNotFoundError(
                f"{what} {path} does not exist (DATASETS.COCO_ROOT={str(root)!r}); write it with "
                f"tools/dataset_converters/coco_instances.py")
    jsons = sorted(ann_dir.glob("*.json"))
    if not jsons:
        raise DatasetNotFoundError(f"no *.json annotation files in {ann_dir}")
    names = []
    for js in jsons:
        dataset = f"{name}_{js.stem}"
        if dataset in DatasetCatalog.list():
            known = MetadataCatalog.get(dataset).get("json_file", None)
            if known is None or Path(known).resolve() != js.resolve():
                raise ValueError(f"dataset {dataset!r} is already registered for {known}; cannot register "
                                 f"{js} under the same name (set DATASETS.COCO_NAME to another prefix)")
        else:
            register_coco_instances(dataset, {}, str(js), str(img_dir))
        names.append(dataset)
    return names


def check_datasets_registered(cfg) -> None:
    """Name the missing ones (and what is registered) instead of Detectron2's bare KeyError."""
    known = set(DatasetCatalog.list())
    missing = [d for d in (*cfg.DATASETS.TRAIN, *cfg.DATASETS.TEST) if d not in known]
    if missing:
        ours = sorted(d for d in known if d.startswith(cfg.DATASETS.COCO_NAME + "_"))
        raise DatasetNotFoundError(
            f"datasets {missing} are not registered; from DATASETS.COCO_ROOT={cfg.DATASETS.COCO_ROOT!r} "
            f"these are: {ours or 'none'}")


def build_augmentations(cfg, is_train: bool) -> list:
    fixed = tuple(int(v) for v in cfg.INPUT.FIXED_SIZE)
    if not any(fixed):
        augs = detection_utils.build_augmentation(cfg, is_train)
    else:
        if min(fixed) <= 0:
            raise ValueError(f"INPUT.FIXED_SIZE must be two positive sizes (h, w) or [0, 0], got {list(fixed)}")
        augs = [T.Resize(fixed)]
        if is_train and cfg.INPUT.RANDOM_FLIP != "none":
            augs.append(T.RandomFlip(horizontal=cfg.INPUT.RANDOM_FLIP == "horizontal",
                                     vertical=cfg.INPUT.RANDOM_FLIP == "vertical"))
    if is_train and cfg.INPUT.VERTICAL_FLIP:
        augs.append(T.RandomFlip(horizontal=False, vertical=True))
    return augs


def build_mapper(cfg, is_train: bool) -> DatasetMapper:
    return DatasetMapper(cfg, is_train, augmentations=build_augmentations(cfg, is_train))
