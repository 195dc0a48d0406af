#!/usr/bin/env bash
# Data-parallel training with torchrun (one process per GPU), as stock
# mmseg / mmdet tools/dist_train.sh:
#   tools/dist_train.sh CONFIG GPUS [train.py args ...]
# Several machines: run it on each with NNODES, NODE_RANK (0 .. NNODES-1),
# MASTER_ADDR (the address of node 0) and PORT set in the environment.
# Without CUDA, tools/train.py switches the backend to gloo and SyncBN to BN
# (logged); GPUS is then the number of CPU processes.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py arguments ...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS="$(cd "$(dirname "$0")" && pwd)"
# the python of the project's virtualenv when there is one (PYTHON overrides)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$TOOLS/../.venv/bin/python" ]; then
        PYTHON="$TOOLS/../.venv/bin/python"
    else
        PYTHON=python
    fi
fi

PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
