"""The benchmarked models of ``tools/benchmark.py``, read from the model index
(``configs/*/metafile.yaml``, ``Metadata.Benchmark``): their configs (paths relative to the
repository root), input sizes and the baseline of each group.

The tables are plain data; the framework adapters build a model from its entry.
"""
import os.path as osp

# configs are named from the repository root (this file is hemaseg/benchmarking/models.py)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _registry(task: str) -> list:
    """``(name, config, benchmark metadata)`` of the models that ``configs/*/metafile.yaml`` enters
    in the benchmark of ``task`` (``Metadata.Benchmark``: Task, Name, Baseline, Order and, per task,
    Input or Kind), in their ``Order``."""
    from hemaseg.model_index import load_model_index
    rows = [(b['Name'], entry.config, b) for entry in load_model_index(REPO_ROOT)
            for b in entry.metadata.get('Benchmark') or [] if b['Task'] == task]
    return sorted(rows, key=lambda row: row[2]['Order'])


# The registry is the model index's: adding a model to a benchmark is a Benchmark entry in its
# metafile, not an edit here.
MODELS = {name: config for name, config, _ in _registry('seg')}
BASELINE = next(b['Baseline'] for _, _, b in _registry('seg'))
# name: (config, input size, baseline of its group)
DET_MODELS = {name: (config, b['Input'], b['Baseline']) for name, config, b in _registry('det')}
# The explainable-CAD pipeline of spec 002, name: (config, kind). The kind says how it runs:
# 'handcrafted' (Algorithm 1 with the config's Table A1 parameters, no network), 'segmentor' (an
# mmseg model: predict + training step), 'ensemble' (inference only) and 'classifier' (MMPretrain).
CAD_MODELS = {name: (config, b['Kind']) for name, config, b in _registry('cad')}
CAD_BASELINE = next(b['Baseline'] for _, _, b in _registry('cad'))
CLASSIFIER_SIZE = 224  # spec 002 §4.3: the classifier's input, whatever the segmentation size

TASKS = ('seg', 'det', 'cad')


def models_of(task: str) -> dict:
    """The model table of ``task`` ('seg', 'det' or 'cad'), in the table's order."""
    return {'seg': MODELS, 'det': DET_MODELS, 'cad': CAD_MODELS}[task]


def baselines_of(task: str) -> dict:
    """``{model: the model its ratios are to}`` for every model of ``task``."""
    return {'seg': {m: BASELINE for m in MODELS}, 'det': {m: DET_MODELS[m][2] for m in DET_MODELS},
            'cad': {m: CAD_BASELINE for m in CAD_MODELS}}[task]


def config_path(config: str) -> str:
    """The absolute path of a table's config (given relative to the repository root)."""
    return osp.join(REPO_ROOT, config)
