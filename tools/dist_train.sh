#!/usr/bin/env bash
# Multi-GPU (or multi-process CPU) training with torchrun and MMEngine's pytorch launcher:
#   bash tools/dist_train.sh CONFIG NUM_GPUS [train.py options]
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec bash "$(dirname "$0")/_dist_run.sh" train.py "$GPUS" "$CONFIG" "$@"
