#!/usr/bin/env bash
# The README's test command: set up .venv if needed, then run the whole test suite.
# Detectron2 is not on PyPI, so .venv has none and tests/det2 skips there. When an interpreter
# that imports detectron2 exists ($DET2_PYTHON, default .venv-d2/bin/python: see the README
# section "Detectron2"), the Detectron2 tests also run with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
.venv/bin/python -m pytest -q tests "$@"
DET2_PYTHON=${DET2_PYTHON:-.venv-d2/bin/python}
if [ -x "$DET2_PYTHON" ] && "$DET2_PYTHON" -c "import detectron2, pytest" 2>/dev/null; then
    echo "== Detectron2 tests with $DET2_PYTHON"
    "$DET2_PYTHON" -m pytest -q -p no:warnings tests/det2 tests/yolact "$@"
else
    echo "== Detectron2 tests skipped: no interpreter with detectron2 at DET2_PYTHON=$DET2_PYTHON"
fi
