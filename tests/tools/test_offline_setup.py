"""Offline set-up on a GPU node: tools/setup_env.sh from a wheel folder, reusing an installed torch,
and the bundle list of tools/make_offline_bundle.sh.

The node is simulated: a "site" folder on PYTHONPATH holds the packages requirements/gpu-node.txt
says the node has (a torch with its CUDA libraries, numpy, scipy, OpenCV ...), as an environment
module provides them; the wheel folder holds every other package, rebuilt from this .venv
(tests/wheel_repack.py); pip's index is an address where nothing listens. The set-up must build the
project's environment from these alone, without installing a torch of its own.
"""
import importlib.metadata as md
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from wheel_repack import repack

REQ = osp.join(REPO_ROOT, 'requirements')


def names(path: str) -> list:
    """Distribution names of a requirements file (no versions, markers or comments)."""
    out = []
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if line:
            out.append(re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0])
    return out


def canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def requirements_of(dist_name: str, extras=()) -> set:
    """``(name, extras)`` of the distributions ``dist_name`` (with ``extras``) depends on, by the
    markers of this interpreter."""
    from packaging.requirements import Requirement
    out = set()
    for spec in md.distribution(dist_name).requires or []:
        req = Requirement(spec)
        if req.marker is not None and not any(req.marker.evaluate({'extra': e}) for e in ('', *extras)):
            continue
        out.add((canonical(req.name), tuple(sorted(req.extras))))
    return out


def closure(roots) -> set:
    """Names of ``roots`` and of everything they need, transitively (requested extras followed)."""
    seen, todo = set(), [(canonical(r), ()) for r in roots]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        try:
            todo.extend(requirements_of(*item) - seen)
        except md.PackageNotFoundError:
            pass
    return {name for name, _ in seen}


def _missing(requirements: str) -> list:
    out = []
    for name in names(osp.join(REQ, requirements)):
        try:
            md.version(name)
        except md.PackageNotFoundError:
            out.append(name)
    return out


# The bundle pins what the full set-up installs, Detectron2's run-time requirements included; .ci/run
# installs them (DETECTRON2_SOURCE), a set-up without Detectron2 does not.
needs_full_setup = pytest.mark.skipif(bool(_missing('detectron2.txt')), reason=(
    f'needs the Detectron2 requirement set installed (missing: {", ".join(_missing("detectron2.txt"))}); '
    'DETECTRON2_SOURCE=... bash tools/setup_env.sh, as .ci/run does'))

NO_DEPS = {'mmengine', 'mmcv'}  # installed with --no-deps (their opencv-python is replaced by the headless one)


@needs_full_setup
def test_bundle_list_is_closed_and_pinned():
    """Every package the set-up installs, and everything those depend on (as installed here), is
    either in requirements/offline-bundle.txt or provided by the node (gpu-node.txt and what those
    depend on): an offline node then lacks nothing. Every bundle entry is pinned to what is installed."""
    node = closure(names(osp.join(REQ, 'gpu-node.txt')))
    bundle = {canonical(n) for n in names(osp.join(REQ, 'offline-bundle.txt'))}
    roots = [n for f in ('openmmlab.txt', 'detectron2.txt', 'tests.txt', 'no-deps.txt') for n in names(osp.join(REQ, f))]
    needed = set()
    for root in roots:
        name = canonical(root)
        needed |= {name} if name in NO_DEPS else closure([name])
    missing = sorted(needed - node - bundle - {'opencv-python'})
    assert not missing, f'requirements/offline-bundle.txt lacks {missing}'
    for line in open(osp.join(REQ, 'offline-bundle.txt')):
        line = line.split('#', 1)[0].strip()
        if line:
            name, version = line.split('==')
            assert md.version(name) == version, f'{name}: bundle pins {version}, this environment has {md.version(name)}'


def _site_folder(path: str, dists: set) -> None:
    """Symlink the installed files of ``dists`` (top-level packages and .dist-info folders) into ``path``."""
    os.makedirs(path)
    for name in sorted(dists):
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for top in {str(f).split('/')[0] for f in dist.files or [] if not str(f).startswith('..')}:
            src, dst = dist.locate_file(top), osp.join(path, top)
            if top != '__pycache__' and osp.exists(src) and not osp.lexists(dst):
                os.symlink(src, dst)


@pytest.mark.skipif(not osp.isfile(osp.join(REPO_ROOT, '.venv', 'bin', 'python')) or
                    osp.realpath(sys.prefix) != osp.realpath(osp.join(REPO_ROOT, '.venv')),
                    reason='needs the project environment .venv (tools/setup_env.sh) to repack wheels from')
@needs_full_setup
def test_offline_setup_from_a_wheel_folder_reuses_the_site_torch(tmp_path):
    node = closure(names(osp.join(REQ, 'gpu-node.txt')))
    site = tmp_path / 'site'
    _site_folder(str(site), node)
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    for name in [*names(osp.join(REQ, 'offline-bundle.txt')), 'mmcv']:
        repack(name, str(wheels))
    venv = tmp_path / 'node-venv'
    env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_') and k != 'VIRTUAL_ENV'}
    env.update(PYTHONPATH=str(site), VENV=str(venv), PYTHON=sys._base_executable, SYSTEM_SITE_PACKAGES='1',
               WHEELHOUSE=str(wheels), PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL='http://127.0.0.1:9/simple',
               OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'offline: every package comes from' in proc.stdout
    assert 'using the torch + torchvision already importable here (not reinstalled)' in proc.stdout
    assert 'include-system-site-packages = true' in (venv / 'pyvenv.cfg').read_text()
    check = subprocess.run(
        [str(venv / 'bin' / 'python'), '-c',
         'import torch, mmcv, mmcv.ops, mmengine, mmseg, mmdet, mmpretrain, monai, pytorch_grad_cam, hemaseg, '
         'mmseg_plugins; print(torch.__file__); print(mmcv.__file__); print(mmpretrain.__file__)'],
        env={**env, 'PYTHONPATH': str(site)}, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-3000:]
    torch_file, mmcv_file, mmpretrain_file = check.stdout.split()
    assert torch_file.startswith(str(site))  # the node's torch, not a new one
    assert mmcv_file.startswith(str(venv)) and mmpretrain_file.startswith(str(venv))  # from the wheel folder
    assert not list(venv.glob('lib/python*/site-packages/torch'))

    # FORCE_CUDA=1 on a machine without a GPU: mmcv has CPU ops only, so it would be rebuilt, but there is no
    # GPU to take the arch from: a clear stop before any compiling (or, without nvcc, that one).
    forced = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO_ROOT, env={**env, 'FORCE_CUDA': '1'},
                            capture_output=True, text=True, timeout=600)
    assert forced.returncode == 1, forced.stdout[-2000:] + forced.stderr[-2000:]
    assert ('FORCE_CUDA=1 without a visible GPU: set TORCH_CUDA_ARCH_LIST' in forced.stdout
            or 'FORCE_CUDA=1 needs nvcc' in forced.stdout), forced.stdout[-2000:]
