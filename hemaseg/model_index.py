"""The project's model index: every ``configs/<family>/metafile.yaml``, read as one list.

The metafiles follow OpenMMLab's model-index format (as MMSegmentation's ``configs/*/metafile.yaml``):
``Collections`` name a model family with its paper and code, ``Models`` name one config each with
its ``Metadata`` (``Parameters`` of the built model, ``Framework``, training data) and ``Results``
(task, dataset, metrics as written in ``docs/results.md``). The benchmark and the docs read the
model registry from here instead of tables typed into the tools; ``tests/test_metafiles.py`` checks
every entry against its config, the built model and ``docs/results.md``.

Framework-free: YAML and paths only; building a model is the adapters' business.
"""
from __future__ import annotations

import glob
import os.path as osp
from dataclasses import dataclass, field

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_EXTS = ('.py', '.yaml')


class ModelIndexError(ValueError):
    """A metafile that does not follow the model-index format; the message names file and entry."""


@dataclass
class ModelEntry:
    """One ``Models`` entry of a metafile, with its collection's paper and code."""
    name: str
    config: str  # repository-relative path
    collection: str
    metafile: str
    metadata: dict = field(default_factory=dict)
    results: list = field(default_factory=list)
    paper: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)

    @property
    def parameters(self) -> int | None:
        return self.metadata.get('Parameters')

    @property
    def framework(self) -> str:
        """``mmseg``, ``mmdet``, ``mmpretrain`` or ``detectron2`` (``Metadata.Framework``)."""
        return self.metadata.get('Framework', '')


def metafiles(root: str = REPO_ROOT) -> list[str]:
    """Every ``configs/*/metafile.yaml`` below ``root``, sorted."""
    return sorted(glob.glob(osp.join(root, 'configs', '*', 'metafile.yaml')))


def config_folders(root: str = REPO_ROOT) -> list[str]:
    """The model-family folders of ``configs/`` (all but ``_base_``), sorted."""
    return sorted(d for d in glob.glob(osp.join(root, 'configs', '*'))
                  if osp.isdir(d) and osp.basename(d) != '_base_')


def load_metafile(path: str) -> list[ModelEntry]:
    """The model entries of one metafile; :class:`ModelIndexError` names what is missing where."""
    import yaml
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    collections = {}
    for col in data.get('Collections') or []:
        if 'Name' not in col:
            raise ModelIndexError(f'{path}: a collection without Name')
        collections[col['Name']] = col
    entries = []
    for i, model in enumerate(data.get('Models') or []):
        where = f'{path}: Models[{i}]'
        for key in ('Name', 'Config', 'In Collection'):
            if key not in model:
                raise ModelIndexError(f'{where} has no {key!r}')
        col = collections.get(model['In Collection'])
        if col is None:
            raise ModelIndexError(f"{where} ({model['Name']}) names collection {model['In Collection']!r}, "
                                  f'which the file does not define (it has {sorted(collections)})')
        entries.append(ModelEntry(
            name=model['Name'], config=model['Config'], collection=col['Name'], metafile=path,
            metadata=dict(model.get('Metadata') or {}), results=list(model.get('Results') or []),
            paper=dict(col.get('Paper') or {}), code=dict(col.get('Code') or {})))
    return entries


def load_model_index(root: str = REPO_ROOT) -> list[ModelEntry]:
    """All entries of all metafiles; a name used twice is an error (names are the registry's keys)."""
    entries, seen = [], {}
    for path in metafiles(root):
        for entry in load_metafile(path):
            if entry.name in seen:
                raise ModelIndexError(f'model name {entry.name!r} is in {seen[entry.name]} and {path}')
            seen[entry.name] = path
            entries.append(entry)
    return entries


def find_model(name: str, root: str = REPO_ROOT) -> ModelEntry:
    """The entry called ``name``; the error lists the close names."""
    index = load_model_index(root)
    for entry in index:
        if entry.name == name:
            return entry
    import difflib
    close = difflib.get_close_matches(name, [e.name for e in index], n=5)
    raise KeyError(f'no model {name!r} in the model index (configs/*/metafile.yaml)'
                   + (f'; close names: {", ".join(close)}' if close else ''))


def renamed_config(path: str, root: str = REPO_ROOT) -> str | None:
    """The current path of a config that was renamed (``configs/renamed.yaml``), or None.

    ``path`` may be absolute or relative to the repository; only its part from ``configs/`` on is
    looked up, so ``../hemaseg/configs/x.py`` and ``configs/x.py`` both resolve."""
    import yaml
    table = osp.join(root, 'configs', 'renamed.yaml')
    norm = osp.normpath(path).replace('\\', '/')
    key = norm[norm.rfind('configs/'):] if 'configs/' in norm else norm
    if not osp.isfile(table):
        return None
    with open(table, encoding='utf-8') as f:
        return (yaml.safe_load(f) or {}).get(key)


def missing_config_message(path: str, root: str = REPO_ROOT) -> str:
    """``error: PATH does not exist``, naming the new path when the config was renamed."""
    new = renamed_config(path, root)
    if new:
        return (f'error: {path} does not exist: it was renamed to {new} '
                '(issue 17: one model family per folder, OpenMMLab names; configs/renamed.yaml lists every rename)')
    return f'error: {path} does not exist'
