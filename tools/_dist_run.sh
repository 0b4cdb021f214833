#!/usr/bin/env bash
# torchrun wrapper shared by dist_train.sh and dist_test.sh:
#   bash tools/_dist_run.sh SCRIPT NUM_PROCS [script arguments]
# NNODES, NODE_RANK, MASTER_ADDR and PORT select a multi-node run; PYTHON the interpreter.
set -euo pipefail
SCRIPT=$1
GPUS=$2
shift 2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python}
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$GPUS" --master_port="${PORT:-29500}" \
    "$ROOT/tools/$SCRIPT" "$@" --launcher pytorch
