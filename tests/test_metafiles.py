"""The model index (``configs/*/metafile.yaml``, read by :mod:`hemaseg.model_index`) against what it
describes: every config folder has a README and a metafile listing each of its configs; every entry's
config loads and builds a model with exactly the ``Metadata.Parameters`` it states; every metric it
states is written in ``docs/results.md``; its paper has a URL and its code path exists."""
import functools
import json
import os
import os.path as osp
import re

import pytest

from conftest import REPO_ROOT, have
from hemaseg.model_index import (CONFIG_EXTS, ModelIndexError, config_folders, load_metafile, load_model_index,
                                 missing_config_message, renamed_config)

RESULTS_MD = osp.join(REPO_ROOT, 'docs', 'results.md')
INDEX = load_model_index()


def configs_in(folder: str) -> list[str]:
    """Repository-relative paths of the config files below a config folder."""
    found = []
    for dirpath, _, files in os.walk(folder):
        found += [osp.relpath(osp.join(dirpath, f), REPO_ROOT) for f in files
                  if f.endswith(CONFIG_EXTS) and f != 'metafile.yaml']
    return sorted(found)


def missing_metrics(results: list, text: str) -> list[str]:
    """The metrics of ``results`` whose value is not written in ``text`` (trailing zeros allowed:
    YAML reads 0.9310 as 0.931)."""
    missing = []
    for res in results:
        for metric, value in (res.get('Metrics') or {}).items():
            pattern = re.escape(str(value)) + (r'0*(?!\d)' if isinstance(value, float) else r'(?!\d)')
            if not re.search(r'(?<![\d.])' + pattern, text):
                missing.append(f'{res.get("Dataset")} {metric} = {value}')
    return missing


@functools.lru_cache(maxsize=None)
def _params_of_model(framework: str, model_json: str) -> int:
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope
    model_cfg = ConfigDict(json.loads(model_json))  # attribute access, as mmdet's detectors use
    if framework == 'mmseg':
        from mmseg.registry import MODELS
    elif framework == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    # scoped to this build: a default scope left behind would send later tests' builds to this registry
    with DefaultScope.overwrite_default_scope(framework):
        model = MODELS.build(model_cfg)
    return sum(p.numel() for p in model.parameters())


def count_parameters(config: str) -> int:
    """Parameters of the model a config builds (OpenMMLab .py or Detectron2 .yaml), on the CPU.
    Configs that share a model dict are built once."""
    path = osp.join(REPO_ROOT, config)
    if config.endswith('.yaml'):
        from detectron2.modeling import build_model

        from det2_plugins.engine import build_cfg
        cfg = build_cfg(path, ['MODEL.DEVICE', 'cpu'])
        return sum(p.numel() for p in build_model(cfg).parameters())
    from mmengine.config import Config
    cfg = Config.fromfile(path)  # imports the config's custom_imports (the plugin packages)
    return _params_of_model(cfg.default_scope, json.dumps(cfg.to_dict()['model'], sort_keys=True, default=list))


def test_every_config_folder_has_readme_and_metafile_listing_its_configs():
    problems = []
    listed = {e.config for e in INDEX}
    for folder in config_folders():
        name = osp.relpath(folder, REPO_ROOT)
        for required in ('README.md', 'metafile.yaml'):
            if not osp.isfile(osp.join(folder, required)):
                problems.append(f'{name}/ has no {required}')
        problems += [f'{cfg} is in no metafile' for cfg in configs_in(folder) if cfg not in listed]
    loose = [f for f in os.listdir(osp.join(REPO_ROOT, 'configs')) if f.endswith(CONFIG_EXTS) and f != 'renamed.yaml']
    problems += [f'configs/{f} sits outside a model-family folder' for f in loose]
    assert not problems, '\n'.join(problems)


def test_readmes_name_each_model_and_its_paper():
    problems = []
    for folder in config_folders():
        readme = osp.join(folder, 'README.md')
        if not osp.isfile(readme):
            continue  # reported by the test above
        text = open(readme, encoding='utf-8').read()
        for entry in (e for e in INDEX if osp.dirname(e.metafile) == folder):
            if osp.basename(entry.config) not in text:
                problems.append(f'{osp.relpath(readme, REPO_ROOT)} does not name {osp.basename(entry.config)}')
            url = entry.paper.get('URL', '')
            if url and url not in text:
                problems.append(f'{osp.relpath(readme, REPO_ROOT)} does not link the paper {url}')
    assert not problems, '\n'.join(sorted(set(problems)))


@pytest.mark.parametrize('entry', INDEX, ids=[e.name for e in INDEX])
def test_entry_config_paper_code_and_metrics(entry):
    assert osp.isfile(osp.join(REPO_ROOT, entry.config)), f'{entry.metafile}: {entry.name}: no file {entry.config}'
    assert entry.config.startswith(osp.relpath(osp.dirname(entry.metafile), REPO_ROOT) + '/'), \
        f'{entry.name}: {entry.config} is outside the folder of its metafile'
    assert entry.paper.get('Title'), f'{entry.collection}: no paper title'
    assert entry.paper.get('URL', '').startswith('http') or entry.paper.get('Note'), \
        f'{entry.collection}: no paper URL (or a Note saying why there is none)'
    code = entry.code.get('URL', '')
    assert code.startswith('https://') or (code and osp.exists(osp.join(REPO_ROOT, code))), \
        f'{entry.collection}: code {code!r} is neither a URL nor a path in the repository'
    assert entry.framework in ('mmseg', 'mmdet', 'mmpretrain', 'detectron2'), f'{entry.name}: Framework?'
    text = open(RESULTS_MD, encoding='utf-8').read()
    missing = missing_metrics(entry.results, text)
    assert not missing, f'{entry.name}: metrics not in docs/results.md: {missing}'
    for res in entry.results:
        assert res.get('Task') and res.get('Dataset') and res.get('Metrics'), f'{entry.name}: incomplete Results'


@pytest.mark.parametrize('entry', INDEX, ids=[e.name for e in INDEX])
def test_entry_parameters_match_the_built_model(entry):
    if entry.framework == 'detectron2' and not have('detectron2'):
        pytest.skip('Detectron2 is not installed (the README test command without DETECTRON2_SOURCE)')
    stated = entry.parameters
    assert isinstance(stated, int), f'{entry.name}: Metadata.Parameters must be the exact count, got {stated!r}'
    built = count_parameters(entry.config)
    assert built == stated, f'{entry.name}: {entry.config} builds {built:,} parameters, the metafile says {stated:,}'


def test_checks_can_fail(tmp_path):
    """The metric check flags a value docs/results.md does not hold, and the loader refuses an entry
    without a collection."""
    assert missing_metrics([{'Dataset': 'X', 'Metrics': {'mDice': 0.123456}}], 'mDice 0.9446') == ['X mDice = 0.123456']
    assert missing_metrics([{'Dataset': 'X', 'Metrics': {'mDice': 0.931}}], 'Dice 0.9310 ± 0.01') == []
    assert missing_metrics([{'Dataset': 'X', 'Metrics': {'mDice': 0.93}}], 'Dice 0.9310') != []
    bad = tmp_path / 'metafile.yaml'
    bad.write_text('Collections: []\nModels:\n- Name: a\n  Config: configs/x/a.py\n  In Collection: Nope\n')
    with pytest.raises(ModelIndexError, match='Nope'):
        load_metafile(str(bad))


def test_renamed_configs_point_to_existing_files():
    """configs/renamed.yaml (old path -> new path, issue 17): every new path exists, no old one does,
    and the tools' error for an old path names the new one."""
    import yaml
    table = yaml.safe_load(open(osp.join(REPO_ROOT, 'configs', 'renamed.yaml'), encoding='utf-8'))
    assert len(table) > 50
    problems = [f'{old}: target {new} does not exist' for old, new in table.items()
                if not osp.isfile(osp.join(REPO_ROOT, new))]
    problems += [f'{old} still exists' for old in table if osp.exists(osp.join(REPO_ROOT, old))]
    assert not problems, '\n'.join(problems)
    old, new = next(iter(table.items()))
    assert renamed_config(osp.join(REPO_ROOT, old)) == new
    assert new in missing_config_message(old)
    assert missing_config_message('configs/never_existed.py') == 'error: configs/never_existed.py does not exist'


def test_benchmark_registry_comes_from_the_metafiles():
    """tools/benchmark.py's model tables are the metafiles' Metadata.Benchmark entries: every model's
    config is in the index, every group's baseline is one of its models, and the order is unique."""
    from hemaseg.benchmarking import models
    configs = {e.config for e in INDEX}
    for task in models.TASKS:
        table = models.models_of(task)
        assert table, f'no {task} model in any metafile Benchmark entry'
        for name, row in table.items():
            config = row if isinstance(row, str) else row[0]
            assert config in configs, f'{task} {name}: {config} is in no metafile'
        assert set(models.baselines_of(task).values()) <= set(table), f'{task}: a baseline is not benchmarked'
        orders = [b['Order'] for e in INDEX for b in e.metadata.get('Benchmark') or [] if b['Task'] == task]
        assert len(orders) == len(set(orders)) == len(table), f'{task}: Order values repeat or names collide'
