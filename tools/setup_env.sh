#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv with the whole pinned stack:
# torch + torchvision, mmcv (compiled), mmengine, MMSegmentation, MMDetection, MMPretrain and,
# when a Detectron2 source is given, Detectron2, all importable in one process.
# Idempotent: a stamp of this file, requirements/ and the chosen sources skips finished work.
#
# Environment:
#   PYTHON             interpreter for the venv (default python3; Python 3.11 is what is tested)
#   TORCH_SPEC         torch requirement (default: torch 2.13.0, see below)
#   TORCHVISION_SPEC   torchvision requirement matching TORCH_SPEC (default torchvision==0.28.0)
#   DETECTRON2_SOURCE  a Detectron2 source pip can build: a tarball, a local clone, or a git URL
#                      such as git+https://github.com/facebookresearch/detectron2.git
#                      (unset: no Detectron2; tests/det2 then skips and says why)
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
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0,!=2.13.0+cpu}
TORCHVISION_SPEC=${TORCHVISION_SPEC:-torchvision==0.28.0}
DETECTRON2_SOURCE=${DETECTRON2_SOURCE:-}
VENV=.venv
PY="$VENV/bin/python"
stamp="$VENV/.setup-stamp"
want="$(cat tools/setup_env.sh requirements/*.txt setup.py | sha1sum | cut -d' ' -f1) $TORCH_SPEC $TORCHVISION_SPEC d2=$DETECTRON2_SOURCE"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
step_start=$SECONDS
took() { log "$1 took $((SECONDS - step_start)) s"; step_start=$SECONDS; }
export MAX_JOBS=${MAX_JOBS:-$(nproc)}

[ -x "$PY" ] || { log "creating $VENV with $PYTHON"; "$PYTHON" -m venv "$VENV"; }
# A full .venv is ~5.6 GB (torch's CUDA libraries most of it); pip unpacks wheels in TMPDIR.
free_mb=$(df -Pm "$VENV" | awk 'NR == 2 {print $4}')
if ! "$PY" -c 'import torch' 2>/dev/null && [ "${free_mb:-0}" -lt 8192 ]; then
    log "warning: ${free_mb} MB free beside $VENV; the environment needs ~6 GB (and pip ~2 GB more while it installs)"
fi
PIP=("$PY" -m pip install --disable-pip-version-check -q)

# A real torchvision operator, not just an import: a mismatched pair imports torch fine and
# fails only when torchvision registers or calls its compiled ops.
check_torch_pair() {
    "$PY" - <<'EOF'
import torch, torchvision
from torchvision.ops import nms, roi_align
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert keep.tolist() == [0, 2], keep
out = roi_align(torch.ones(1, 1, 8, 8), [torch.tensor([[0., 0., 4., 4.]])], output_size=2)
assert torch.allclose(out, torch.ones(1, 1, 2, 2)), out
print(f'torch {torch.__version__} + torchvision {torchvision.__version__}: nms and roi_align work')
EOF
}

if ! check_torch_pair 2>/dev/null; then
    log "installing $TORCH_SPEC + $TORCHVISION_SPEC (a matching pair; ~3 min and ~5 GB for the CUDA-enabled PyPI build)"
    "${PIP[@]}" "$TORCH_SPEC" "$TORCHVISION_SPEC"
    took "torch + torchvision"
fi
check_torch_pair || { log "torch and torchvision do not work together (see above); set TORCH_SPEC / TORCHVISION_SPEC to a matching pair"; exit 1; }
# Later installs must not swap the pair for another build (e.g. a dependency asking for torch).
"$PY" -m pip freeze --disable-pip-version-check | grep -E '^(torch|torchvision)==' > "$VENV/torch-constraints.txt"
PIPC=("${PIP[@]}" -c "$VENV/torch-constraints.txt")

"${PIPC[@]}" "setuptools<81" wheel ninja numpy
if ! "$PY" -c 'import mmcv, mmcv.ops' 2>/dev/null; then
    log "building mmcv 2.1.0 from source (16-26 min on 2 cores the first time; pip caches the wheel, later ~30 s)"
    "${PIPC[@]}" --no-build-isolation mmcv==2.1.0
    took "mmcv"
fi

log "installing OpenMMLab packages (mmengine, mmseg, mmdet, mmpretrain), MONAI, grad-cam and test tools"
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
        "${PIPC[@]}" --no-build-isolation "$DETECTRON2_SOURCE"
        echo "$DETECTRON2_SOURCE" > "$d2_built"
        took "Detectron2"
    fi
else
    log "no DETECTRON2_SOURCE given: Detectron2 is not installed, tests/det2 will skip"
fi

"${PIPC[@]}" --no-build-isolation --no-deps -e .
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
