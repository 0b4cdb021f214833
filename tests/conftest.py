import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)  # tests import the packages (hemaseg, *_plugins), never tools/ (test_tools_are_thin)



def load_tool(name: str):
    """The module of ``tools/<name>.py`` loaded from its path, for tests that call its ``main(argv)``
    in-process: a test of the command line (faster than a subprocess), not library use. tools/ stays
    off sys.path, so a tool's logic is never imported by name (tests/tools/test_tools_are_thin.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'tool_{name}', osp.join(REPO_ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHARED = osp.join(osp.dirname(REPO_ROOT), 'shared')
WBC_ROOT = osp.join(SHARED, 'data', 'wbc_zheng2018')
TINY_CONFIG = osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py')


def have(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope='module', autouse=True)
def restore_registry_scope():
    """Every test module runs inside its own OpenMMLab default-scope context: a module that sets the
    scope (init_default_scope('mmdet'), a Runner) leaves the next module the scope it found, so a
    build through another framework's registry never lands in the wrong one (MMEngine's
    overwrite_default_scope restores every scope instance created inside it)."""
    try:
        from mmengine.registry import DefaultScope
    except ImportError:
        yield
        return
    # ManagerMixin's registry of instances: the newest is the current scope. Restored as a whole (as
    # overwrite_default_scope does), because "no scope" must come back as no scope, not as 'mmengine'.
    saved = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


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


def tool_env(**extra) -> dict:
    """Environment for a tools/ subprocess: the repo importable and one OpenMP thread, because
    the suite may run beside other torch jobs on few cores."""
    return dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1', **extra)


def failure_cause(proc) -> str:
    """The line that says why a tool failed: the last exception line of its stderr (a Python
    traceback ends with ``Type: message``), else its last non-empty output line. CI shows only
    part of a failing test's output, so the assertion message leads with this line."""
    lines = [ln.strip() for ln in (proc.stderr or '').splitlines() if ln.strip()]
    exception = re.compile(r'^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)|AssertionError)\b')
    cause = next((ln for ln in reversed(lines) if exception.match(ln)), None)
    if cause is None:
        tail = lines or [ln.strip() for ln in (proc.stdout or '').splitlines() if ln.strip()]
        cause = tail[-1] if tail else '(no output)'
    if 'No space left on device' in (proc.stderr or '') + (proc.stdout or ''):
        free = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
        cause += f' [disk full: {free:.1f} GiB free in {tempfile.gettempdir()} now]'
    return cause


def run_tool(args, env=None, cwd=REPO_ROOT, timeout=900, check=True):
    """Run ``python ARGS`` (a tool script and its arguments) with this interpreter. With ``check``,
    a non-zero exit fails the test with the cause first, then the ends of stdout and stderr."""
    proc = subprocess.run([sys.executable, *map(str, args)], env=env or tool_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        name = osp.relpath(str(args[0]), REPO_ROOT) if osp.isabs(str(args[0])) else args[0]
        raise AssertionError(f'{name} exited {proc.returncode}: {failure_cause(proc)}\n'
                             f'--- stdout (end)\n{proc.stdout[-3000:]}\n--- stderr (end)\n{proc.stderr[-5000:]}')
    return proc
