"""hemaseg and its framework adapters.

``install_requires`` is what the packages import at run time outside the frameworks:
``hemaseg`` (NumPy, OpenCV, PyTorch, pycocotools) and the ``tools/`` scripts (SciPy for the
cross-validation t-test). The frameworks are extras, pinned as in ``requirements/openmmlab.txt``:

* ``openmmlab``: ``mmengine_plugins``, ``mmseg_plugins``, ``mmdet_plugins`` and the OpenMMLab
  configs. mmcv 2.1.0 is published as source only and compiles its ops against the installed
  torch: install torch first, then ``pip install --no-build-isolation mmcv==2.1.0`` (what
  ``tools/setup_env.sh`` does), or pip builds it in an isolated environment that lacks torch.
* Detectron2 (``det2_plugins``, ``configs/*/detectron2``) cannot be declared: it is on no package
  registry. Build it from its source against the installed torch (README, "Detectron2 in the
  same environment"; ``DETECTRON2_SOURCE`` of ``tools/setup_env.sh``). The ``detectron2`` extra
  installs only what it imports besides itself (torchvision, not declared by Detectron2).
"""
from setuptools import find_packages, setup


def _requirements(path):
    """The requirement lines of a requirements file (comments and blank lines dropped)."""
    with open(path) as f:
        return [line.split('#', 1)[0].strip() for line in f if line.split('#', 1)[0].strip()]


OPENMMLAB = [
    'mmcv==2.1.0',  # compiled ops (RoIAlign, NMS) of mmseg / mmdet; see the module doc
    'mmengine==0.10.7',
    'mmsegmentation==1.2.2',
    'mmdet==3.3.0',
    'mmpretrain==1.2.0',
    # Imported but not declared by them: ftfy and regex by mmseg (mmseg.utils.tokenizer),
    # torchvision by mmpretrain (its transforms) and mmdet (MaxIoUAssigner on GPU).
    'ftfy',
    'regex',
    # ... and importlib_metadata by mmpretrain (its dependency checks); a GPU node without it
    # failed at `import mmpretrain`.
    'importlib_metadata',
    # mmcv 2.1.0 compiles with C++17, which torch >= 2.14 headers no longer accept; torchvision
    # 0.28 is the build that goes with torch 2.13 (without the bound pip would take a newer
    # torchvision and replace torch with the one it needs).
    'torch<2.14',
    'torchvision<0.29',
]

setup(
    name='hemaseg',
    version='0.1.0',
    license='Apache-2.0',  # LICENSE; the datasets' terms are in NOTICE
    description='Blood-cancer microscopy segmentation models for OpenMMLab and Detectron2',
    packages=find_packages(include=['hemaseg', 'hemaseg.*', 'mmengine_plugins', 'mmengine_plugins.*',
                                    'mmseg_plugins', 'mmseg_plugins.*', 'mmdet_plugins', 'mmdet_plugins.*',
                                    'mmpretrain_plugins', 'mmpretrain_plugins.*',
                                    'det2_plugins', 'det2_plugins.*']),
    python_requires='>=3.9',
    install_requires=['numpy', 'opencv-python-headless', 'pycocotools', 'scipy', 'torch'],
    extras_require={
        'openmmlab': OPENMMLAB,
        # Everything det2_plugins imports except detectron2 itself (see the module doc), and what
        # Detectron2 imports at run time (requirements/detectron2.txt; it is built with --no-deps).
        'detectron2': ['torchvision', *_requirements('requirements/detectron2.txt')],
        'tests': ['pytest'],
    },
)
