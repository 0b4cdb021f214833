#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv with the pinned stack.
# Idempotent: a stamp of this file and requirements/ skips work that is already done.
#
# Why this order: mmcv 2.1.0 (required by mmseg 1.2.2 / mmdet 3.3.0) is published as
# source only and compiles its ops against the torch already installed, with C++17;
# torch 2.14+ needs C++20, hence torch 2.13. The compiled wheel lands in pip's cache, so
# later environments reuse it. Set TORCH_SPEC to pick a CUDA build on a GPU node.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.*}
VENV=.venv
stamp="$VENV/.setup-stamp"
want="$(cat tools/setup_env.sh requirements/*.txt | sha1sum | cut -d' ' -f1) $TORCH_SPEC"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
log() { printf '[setup_env] %s\n' "$*"; }
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
log "installing $TORCH_SPEC and build tools"
"${PIP[@]}" "$TORCH_SPEC" "setuptools<81" wheel ninja numpy
if ! "$VENV/bin/python" -c 'import mmcv, mmcv.ops' 2>/dev/null; then
    log "building mmcv 2.1.0 from source (about 8-15 minutes on 2 cores the first time; cached afterwards)"
    MAX_JOBS=${MAX_JOBS:-$(nproc)} "${PIP[@]}" --no-build-isolation mmcv==2.1.0
fi
log "installing OpenMMLab packages and test tools"
"${PIP[@]}" -r requirements/openmmlab.txt -r requirements/tests.txt
"${PIP[@]}" --no-build-isolation --no-deps -e .
"$VENV/bin/python" -c 'import mmcv.ops, mmseg, mmdet, mmseg_plugins' || { log "import check failed"; exit 1; }
echo "$want" > "$stamp"
log "environment ready: $VENV"
