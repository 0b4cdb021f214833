#!/usr/bin/env bash
# Multi-GPU (or multi-process CPU) testing with torchrun and MMEngine's pytorch launcher:
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_GPUS [test.py options]
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
exec bash "$(dirname "$0")/_dist_run.sh" test.py "$GPUS" "$CONFIG" "$CHECKPOINT" "$@"
