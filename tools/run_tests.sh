#!/usr/bin/env bash
# The README's test command: set up .venv if needed (tools/setup_env.sh), then run the whole
# test suite in it, Detectron2 tests included when .venv has Detectron2 (set DETECTRON2_SOURCE
# to a Detectron2 tarball, clone or git URL to build it; without one, tests/det2 skips and
# pytest's summary says why: -rs).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash tools/setup_env.sh
echo "[run_tests] environment ready after $((SECONDS - start)) s"
.venv/bin/python -m pytest -q -rs tests "$@"
echo "[run_tests] finished after $((SECONDS - start)) s"
