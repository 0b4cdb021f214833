"""Stop a run before anything is built when a config's data folder is missing, with the command
that creates it.

Without this check a missing ``data_root`` surfaces only when the Runner builds the first
dataset, as a "split file … does not exist" (or a COCO loader error) that does not say how the
folder is made. A config may name its preparation command in the optional top-level key
``data_preparation`` (a string printed as is)::

    data_root = 'data/sn_am'
    data_preparation = ('python tools/dataset_converters/sn_am.py /path/to/images '
                        '--annotations /path/to/annotations --out data/sn_am')

:func:`check_data_prepared` looks at the ``data_root`` of every ``*_dataloader.dataset``
(through dataset wrappers: ``dataset=`` of RepeatDataset & co., ``datasets=[...]`` of
ConcatDataset) as relative paths resolve for the run (against the working directory), and
raises ``SystemExit`` naming each missing folder, where it is looked for, and the command.
A folder left by an interrupted converter (its ``.incomplete`` marker,
:mod:`hemaseg.data.layout`) is reported the same way. Plain config dicts only: no
OpenMMLab import, so it serves segmentation and detection configs alike.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Iterator, Mapping
from typing import Any

from hemaseg.data.splits import INCOMPLETE as INCOMPLETE_MARKER  # written until a converter finishes

GENERIC_PREPARATION = ('run the matching converter in tools/dataset_converters/ '
                       '(README, "Preparing datasets") with --out pointing at it')


def _dataset_roots(ds: Any, key: str) -> Iterator[tuple[str, str]]:
    if not isinstance(ds, Mapping):
        return
    if isinstance(ds.get('data_root'), str) and ds['data_root']:
        yield f'{key}.data_root', ds['data_root']
    yield from _dataset_roots(ds.get('dataset'), f'{key}.dataset')
    for i, sub in enumerate(ds.get('datasets') or []):
        yield from _dataset_roots(sub, f'{key}.datasets.{i}')


def data_roots(cfg: Mapping) -> dict[str, list[str]]:
    """``{data_root: [config keys that use it]}`` over every ``*_dataloader.dataset``."""
    roots: dict[str, list[str]] = {}
    for name in sorted(k for k in cfg.keys() if k.endswith('_dataloader')):
        loader = cfg[name]
        if isinstance(loader, Mapping):
            for key, root in _dataset_roots(loader.get('dataset'), f'{name}.dataset'):
                roots.setdefault(root, []).append(key)
    return roots


def data_problems(cfg: Mapping) -> list[str]:
    """One line per data folder that is missing or unfinished; empty when all are there."""
    problems = []
    for root, keys in data_roots(cfg).items():
        where = root if osp.isabs(root) else f'{root} (looked for at {osp.abspath(root)})'
        used_by = ', '.join(keys)
        if not osp.isdir(root):
            problems.append(f'the data folder {where} does not exist ({used_by})')
        elif osp.exists(osp.join(root, INCOMPLETE_MARKER)):
            problems.append(f'the data folder {where} holds an unfinished conversion '
                            f'(the converter failed or was stopped; run it again) ({used_by})')
    return problems


def missing_data_message(cfg: Mapping, source: str = 'config') -> str | None:
    """The error text for :func:`check_data_prepared`, or None when the data is in place."""
    problems = data_problems(cfg)
    if not problems:
        return None
    command = cfg.get('data_preparation')
    how = f'Create it with:\n  {command}' if command else f'Create it: {GENERIC_PREPARATION}.'
    return f'error: {source}: ' + '\n  '.join(problems) + f'\n{how}'


# Pipeline steps that read a per-image file from a folder of the dataset made by a tool, not by
# the converter: {transform type: (its folder argument, default, the command that makes it)}.
DERIVED_FOLDERS = {
    'MaskOutsideNucleus': ('mask_root', 'nucleus_masks',
                           'python tools/precompute_masks.py {root} --method handcrafted  (or --config SEG_CONFIG '
                           '--checkpoint SEG_CKPT for the ensemble masks)'),
}
# The command when the step reads another folder than the default (e.g. MaskOutsideNucleus with the
# ALL-FABNET / R-Mask R-CNN cell masks, mask_root='cell_masks').
DERIVED_OTHER_FOLDER = {
    'MaskOutsideNucleus': ('python tools/precompute_masks.py {root} --method deep --mask-dir-name {folder} '
                           '--config SEG_CONFIG --checkpoint SEG_CKPT'),
}


def missing_derived_folders_message(cfg: Mapping, source: str = 'config') -> str | None:
    """The error text when a pipeline step of :data:`DERIVED_FOLDERS` (the nucleus masks of the
    Segmented classifier configs) would read a folder that does not exist; None when all exist."""
    problems, commands = [], []
    for name in sorted(k for k in cfg.keys() if k.endswith('_dataloader')):
        loader = cfg[name]
        ds = loader.get('dataset') if isinstance(loader, Mapping) else None
        if not isinstance(ds, Mapping) or not isinstance(ds.get('data_root'), str):
            continue
        for step in ds.get('pipeline') or []:
            kind = step.get('type') if isinstance(step, Mapping) else None
            if kind not in DERIVED_FOLDERS:
                continue
            arg, default, command = DERIVED_FOLDERS[kind]
            folder = osp.join(ds['data_root'], step.get(arg, default))
            if not osp.isdir(folder):
                problems.append(f'the folder {folder} read by {kind} ({name}.dataset.pipeline) does not exist')
                other = DERIVED_OTHER_FOLDER.get(kind) if step.get(arg, default) != default else None
                commands.append((other or command).format(root=ds['data_root'], folder=step.get(arg, default)))
    if not problems:
        return None
    return (f'error: {source}: ' + '\n  '.join(dict.fromkeys(problems)) + '\nCreate it with:\n  '
            + '\n  '.join(dict.fromkeys(commands)))


def check_data_prepared(cfg: Mapping, source: str = 'config') -> None:
    """Raise ``SystemExit`` with :func:`missing_data_message` when a data folder is missing
    (then with :func:`missing_derived_folders_message` when a folder made from it is)."""
    message = missing_data_message(cfg, source) or missing_derived_folders_message(cfg, source)
    if message is not None:
        raise SystemExit(message)
