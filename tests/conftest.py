import os
import os.path as osp
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
SHARED = osp.join(osp.dirname(REPO_ROOT), 'shared')
WBC_ROOT = osp.join(SHARED, 'data', 'wbc_zheng2018')
TINY_CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py')


def have(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope='session')
def tiny_dataset(tmp_path_factory):
    """20 synthetic 64x64 crops in the converters' layout (images/, masks/, splits/)."""
    from hemaseg.data.synthetic import generate_synthetic_dataset
    out = tmp_path_factory.mktemp('synthetic64')
    generate_synthetic_dataset(str(out), num_images=20, size=64, seed=0)
    return str(out)


@pytest.fixture
def run_env():
    """Environment for tool subprocesses: repo importable, one thread per process."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    return env
