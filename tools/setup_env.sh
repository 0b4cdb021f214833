#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv with the whole pinned stack:
# torch + torchvision, mmcv (compiled), mmengine, MMSegmentation, MMDetection, MMPretrain and,
# when a Detectron2 source is given, Detectron2, all importable in one process.
# Idempotent: a stamp of this file, requirements/ and the chosen sources skips finished work.
#
# Environment:
#   PYTHON             interpreter for the venv (default python3; Python 3.11 is what CI tests, 3.12 ran
#                      on the GPU node). Name a site interpreter (/opt/site/bin/python3) to build on it.
#   VENV               where the environment goes (default .venv in the repository root)
#   SYSTEM_SITE_PACKAGES=1  create the venv with --system-site-packages, so a torch / torchvision
#                      already installed for PYTHON (a GPU node's site build) is used, not reinstalled.
#                      A torch on PYTHONPATH (environment modules) is used the same way. Either is
#                      checked with real torchvision ops, as a freshly installed pair is.
#   OFFLINE_BUNDLE     a folder written by tools/make_offline_bundle.sh: sets WHEELHOUSE to its wheels/, and
#                      MMCV_SOURCE / DETECTRON2_SOURCE to the tarballs in its src/ (unless given)
#   WHEELHOUSE         a folder of wheels (and sdists): every pip call then runs with --no-index
#                      --find-links WHEELHOUSE and reaches no index (tools/make_offline_bundle.sh
#                      writes one on a machine with network)
#   MMCV_SOURCE        what to build mmcv from (default mmcv==2.1.0 from the index or WHEELHOUSE;
#                      or a local mmcv-2.1.0.tar.gz). The built wheel is kept in VENV/wheels/: copy
#                      it into WHEELHOUSE to skip the compile on identical nodes.
#   FORCE_CUDA=1       compile mmcv's CUDA ops (needs nvcc of torch's CUDA major version; arch from
#                      TORCH_CUDA_ARCH_LIST, default the visible GPU's). Otherwise mmcv gets its CPU
#                      ops only, even on a GPU node: mmseg, MMPretrain and Detectron2 do not need
#                      mmcv's CUDA ops; MMDetection's RoIAlign / NMS on CUDA tensors do.
#   TORCH_SPEC         torch requirement (default: torch 2.13.0, see below)
#   TORCHVISION_SPEC   torchvision requirement matching TORCH_SPEC (default torchvision==0.28.0)
#   DETECTRON2_SOURCE  a Detectron2 source pip can build: a tarball, a local clone, or a git URL
#                      such as git+https://github.com/facebookresearch/detectron2.git
#                      (unset: no Detectron2; tests/det2_plugins then skips and says why). With FORCE_CUDA=1
#                      its CUDA ops are compiled too.
#   MAX_JOBS           parallel compile jobs for mmcv / Detectron2 (default: all cores)
#
# Why this order and these pins:
# * mmcv 2.1.0 (required by mmseg 1.2.2 / mmdet 3.3.0) is published as source only and compiles
#   its ops against the torch already installed, with C++17; torch >= 2.14 headers need C++20,
#   hence torch 2.13. The compiled wheel lands in pip's cache, so later environments reuse it.
# * torch and torchvision must be a pair built together: torchvision's compiled ops are linked
#   against one torch build. PyPI's torchvision 0.28.0 is built against PyPI's torch 2.13.0; a
#   CPU-only local build "2.13.0+cpu" (what a local wheel folder may offer, and what pip prefers
#   when it is there) has no torchvision beside it on PyPI, and torchvision then fails with
#   "operator torchvision::nms does not exist". The default spec therefore excludes that local
#   build by its exact version (PEP 440 compares local labels only when the specifier names
#   one), which changes nothing where no such wheel is offered. For a CUDA or CPU build from
#   another index, set TORCH_SPEC and TORCHVISION_SPEC to a pair from that index.
# * Detectron2 is on no package registry; it is built from the source you name, against the
#   torch installed here (--no-build-isolation), and never vendored into this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ -n "${OFFLINE_BUNDLE:-}" ]; then
    [ -d "$OFFLINE_BUNDLE/wheels" ] || { echo "OFFLINE_BUNDLE=$OFFLINE_BUNDLE has no wheels/ (write it with tools/make_offline_bundle.sh)" >&2; exit 1; }
    WHEELHOUSE=${WHEELHOUSE:-$OFFLINE_BUNDLE/wheels}
    MMCV_SOURCE=${MMCV_SOURCE:-$(ls "$OFFLINE_BUNDLE"/src/mmcv-*.tar.gz 2>/dev/null | head -n 1)}
    DETECTRON2_SOURCE=${DETECTRON2_SOURCE:-$(ls "$OFFLINE_BUNDLE"/src/detectron2*.tar.gz "$OFFLINE_BUNDLE"/src/detectron2*.zip 2>/dev/null | head -n 1)}
fi
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0,!=2.13.0+cpu}
TORCHVISION_SPEC=${TORCHVISION_SPEC:-torchvision==0.28.0}
DETECTRON2_SOURCE=${DETECTRON2_SOURCE:-}
WHEELHOUSE=${WHEELHOUSE:-}
MMCV_SOURCE=${MMCV_SOURCE:-mmcv==2.1.0}
SYSTEM_SITE_PACKAGES=${SYSTEM_SITE_PACKAGES:-0}
FORCE_CUDA=${FORCE_CUDA:-0}
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
stamp="$VENV/.setup-stamp"
want="$(cat tools/setup_env.sh requirements/*.txt setup.py | sha1sum | cut -d' ' -f1) $TORCH_SPEC $TORCHVISION_SPEC d2=$DETECTRON2_SOURCE wh=$WHEELHOUSE mmcv=$MMCV_SOURCE site=$SYSTEM_SITE_PACKAGES cuda=$FORCE_CUDA"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
step_start=$SECONDS
took() { log "$1 took $((SECONDS - step_start)) s"; step_start=$SECONDS; }
export MAX_JOBS=${MAX_JOBS:-$(nproc)}

INDEX=()
if [ -n "$WHEELHOUSE" ]; then
    [ -d "$WHEELHOUSE" ] || { log "WHEELHOUSE=$WHEELHOUSE: no such folder (tools/make_offline_bundle.sh writes one)"; exit 1; }
    WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
    INDEX=(--no-index --find-links "$WHEELHOUSE")
    log "offline: every package comes from $WHEELHOUSE (pip --no-index)"
fi
if [ ! -x "$PY" ]; then
    command -v "$PYTHON" >/dev/null || { log "PYTHON=$PYTHON: no such interpreter"; exit 1; }
    venv_opts=()
    [ "$SYSTEM_SITE_PACKAGES" = 1 ] && venv_opts=(--system-site-packages)
    log "creating $VENV with $PYTHON ($("$PYTHON" --version 2>&1)) ${venv_opts[*]:-}"
    "$PYTHON" -m venv "${venv_opts[@]}" "$VENV"
fi
# A full .venv is ~5.6 GB (torch's CUDA libraries most of it); pip unpacks wheels in TMPDIR.
free_mb=$(df -Pm "$VENV" | awk 'NR == 2 {print $4}')
if ! "$PY" -c 'import torch' 2>/dev/null && [ "${free_mb:-0}" -lt 8192 ]; then
    log "warning: ${free_mb} MB free beside $VENV; the environment needs ~6 GB (and pip ~2 GB more while it installs)"
fi
PIP=("$PY" -m pip install --disable-pip-version-check -q "${INDEX[@]}")

# A real torchvision operator, not just an import: a mismatched pair imports torch fine and
# fails only when torchvision registers or calls its compiled ops.
check_torch_pair() {
    "$PY" - <<'EOF'
import os, torch, torchvision
from torchvision.ops import nms, roi_align
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert keep.tolist() == [0, 2], keep
out = roi_align(torch.ones(1, 1, 8, 8), [torch.tensor([[0., 0., 4., 4.]])], output_size=2)
assert torch.allclose(out, torch.ones(1, 1, 2, 2)), out
where = os.path.dirname(os.path.dirname(torch.__file__))
print(f'torch {torch.__version__} + torchvision {torchvision.__version__} from {where}: nms and roi_align work')
EOF
}

if check_torch_pair 2>/dev/null; then
    log "using the torch + torchvision already importable here (not reinstalled)"
else
    log "installing $TORCH_SPEC + $TORCHVISION_SPEC (a matching pair; ~3 min and ~5 GB for the CUDA-enabled PyPI build)"
    "${PIP[@]}" "$TORCH_SPEC" "$TORCHVISION_SPEC"
    took "torch + torchvision"
fi
check_torch_pair || { log "torch and torchvision do not work together (see above); set TORCH_SPEC / TORCHVISION_SPEC to a matching pair"; exit 1; }
# Later installs must not swap the pair for another build (e.g. a dependency asking for torch).
"$PY" -m pip freeze --disable-pip-version-check | grep -E '^(torch|torchvision)==' > "$VENV/torch-constraints.txt"
# Everything else is pinned to the set tested together (requirements/offline-bundle.txt, also the offline
# bundle's list): a new machine installs what CI tested, not whatever the index offers that day.
PIPC=("${PIP[@]}" -c "$VENV/torch-constraints.txt" -c requirements/offline-bundle.txt)

"${PIPC[@]}" "setuptools<81" wheel ninja numpy

# mmcv: CPU ops unless FORCE_CUDA=1. Its setup.py compiles CUDA ops whenever torch sees a GPU, so
# the CPU-ops build hides the GPU (CUDA_VISIBLE_DEVICES=) instead of relying on FORCE_CUDA=0.
mmcv_has_cuda_ops() {
    "$PY" -c 'import sys; from mmcv.ops import get_compiling_cuda_version as v; sys.exit(v() in ("", "not available"))' 2>/dev/null
}
if ! "$PY" -c 'import mmcv, mmcv.ops' 2>/dev/null || { [ "$FORCE_CUDA" = 1 ] && ! mmcv_has_cuda_ops; }; then
    build_env=(env CUDA_VISIBLE_DEVICES= FORCE_CUDA=0)
    build_opts=()
    what="CPU ops only; FORCE_CUDA=1 adds the CUDA ops MMDetection needs on a GPU"
    if [ "$FORCE_CUDA" = 1 ]; then
        read -r torch_cuda cuda_home gpu_arch <<< "$("$PY" -c '
import torch
from torch.utils.cpp_extension import CUDA_HOME
arch = "%d.%d" % torch.cuda.get_device_capability() if torch.cuda.is_available() else "-"
print(torch.version.cuda or "-", CUDA_HOME or "-", arch)')"
        [ "$torch_cuda" != - ] || { log "FORCE_CUDA=1, but this torch is a CPU build (torch.version.cuda is None)"; exit 1; }
        nvcc="$cuda_home/bin/nvcc"
        [ -x "$nvcc" ] || { log "FORCE_CUDA=1 needs nvcc of CUDA $torch_cuda (torch's); none found at CUDA_HOME=$cuda_home"; exit 1; }
        nvcc_version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
        if [ "${nvcc_version%%.*}" != "${torch_cuda%%.*}" ]; then
            log "FORCE_CUDA=1: nvcc $nvcc_version ($nvcc) and torch's CUDA $torch_cuda differ in major version; set CUDA_HOME to a CUDA ${torch_cuda%%.*}.x"
            exit 1
        fi
        # A toolkit with nvcc but without the CUDA libraries' headers (a minimal or pip-installed one) lacks
        # cusparse.h, which torch's CUDA headers include; torch's own nvidia/* wheels carry it.
        if [ ! -f "$cuda_home/include/cusparse.h" ]; then
            extra=$("$PY" -c 'import glob, os, nvidia; print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for p in glob.glob(os.path.join(d, "*", "include", "cusparse.h"))})))' 2>/dev/null || true)
            if [ -n "$extra" ]; then
                export CPATH="$extra${CPATH:+:$CPATH}"
                log "CUDA library headers from torch's nvidia wheels: $extra"
            fi
        fi
        [ "$gpu_arch" != - ] || gpu_arch=
        export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$gpu_arch}
        [ -n "$TORCH_CUDA_ARCH_LIST" ] || { log "FORCE_CUDA=1 without a visible GPU: set TORCH_CUDA_ARCH_LIST (e.g. 9.0 for H100 / H200)"; exit 1; }
        build_env=(env FORCE_CUDA=1)
        build_opts=(--no-cache-dir)  # never take pip's cached CPU-ops wheel, which has the same name
        what="CUDA ops for arch $TORCH_CUDA_ARCH_LIST with nvcc $nvcc_version"
    fi
    log "building mmcv 2.1.0 from $MMCV_SOURCE ($what); 16-26 min on 2 cores the first time, pip caches the CPU build"
    rm -rf "$VENV/wheels" && mkdir -p "$VENV/wheels"
    "${build_env[@]}" "$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
        "${build_opts[@]}" "${INDEX[@]}" -w "$VENV/wheels" "$MMCV_SOURCE"
    "${PIPC[@]}" --no-deps --force-reinstall "$VENV"/wheels/mmcv-*.whl
    echo "$what" > "$VENV/wheels/mmcv-build.txt"
    took "mmcv"
    log "the mmcv wheel is kept in $VENV/wheels/: put it in a WHEELHOUSE to skip this build on identical nodes"
fi

log "installing OpenMMLab packages (mmengine, mmseg, mmdet, mmpretrain), MONAI, grad-cam and test tools"
"${PIPC[@]}" --no-deps -r requirements/no-deps.txt
"${PIPC[@]}" -r requirements/openmmlab.txt -r requirements/tests.txt
took "OpenMMLab packages"

if [ -n "$DETECTRON2_SOURCE" ]; then
    case "$DETECTRON2_SOURCE" in
        git+*|http://*|https://*) ;;
        *) [ -e "$DETECTRON2_SOURCE" ] || { log "DETECTRON2_SOURCE=$DETECTRON2_SOURCE: no such file or folder (give a tarball, a clone or a git URL)"; exit 1; } ;;
    esac
    d2_built="$VENV/.detectron2-source"
    if ! "$PY" -c 'import detectron2._C' 2>/dev/null || [ "$(cat "$d2_built" 2>/dev/null)" != "$DETECTRON2_SOURCE" ]; then
        log "building Detectron2 from $DETECTRON2_SOURCE (2-3 min on 2 cores)"
        # Its run-time imports first, then Detectron2 itself without the two it declares but only
        # optionally uses (tensorboard, black: requirements/detectron2.txt says why).
        "${PIPC[@]}" -r requirements/detectron2.txt
        "${PIPC[@]}" --no-build-isolation --no-deps "$DETECTRON2_SOURCE"  # FORCE_CUDA, TORCH_CUDA_ARCH_LIST apply
        echo "$DETECTRON2_SOURCE" > "$d2_built"
        took "Detectron2"
    fi
else
    log "no DETECTRON2_SOURCE given: Detectron2 is not installed, tests/det2_plugins will skip"
fi

# PEP 660 editable install with the setuptools installed here: setuptools >= 80 turns a legacy "setup.py
# develop" into a pip call of its own, with build isolation and without our --no-index.
"${PIPC[@]}" --no-build-isolation --use-pep517 --no-deps -e .
"$PY" - <<'EOF' || { log "import check failed"; exit 1; }
import importlib.util
import mmcv.ops, mmengine, mmseg, mmdet, mmpretrain, torchvision  # noqa: F401
import hemaseg, mmseg_plugins, mmdet_plugins  # noqa: F401
names = ['mmcv', 'mmengine', 'mmseg', 'mmdet', 'mmpretrain']
if importlib.util.find_spec('detectron2') is not None:
    import detectron2._C  # noqa: F401  (the compiled ops, not only the Python package)
    names.append('detectron2')
versions = ', '.join(f'{n} {__import__(n).__version__}' for n in names)
print(f'[setup_env] one process imports: {versions}')
EOF
echo "$want" > "$stamp"
log "environment ready: $VENV"
