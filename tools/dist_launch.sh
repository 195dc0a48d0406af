#!/usr/bin/env bash
# torchrun with the environment of tools/dist_train.sh and tools/dist_test.sh
# (shared by both):
#   tools/dist_launch.sh NPROC TOOL.py [tool arguments ...]
# NNODES, NODE_RANK (0 .. NNODES-1), MASTER_ADDR (the address of node 0) and
# PORT are read from the environment; PYTHON overrides the interpreter
# (default: the project's .venv when there is one).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 NPROC TOOL.py [tool arguments ...]" >&2
    exit 2
fi
NPROC=$1
TOOL=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$TOOLS/../.venv/bin/python" ]; then
        PYTHON="$TOOLS/../.venv/bin/python"
    else
        PYTHON=python
    fi
fi

PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$TOOLS/$TOOL" "${@:3}"
