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
exec "$(dirname "$0")/dist_launch.sh" "$2" train.py "$1" \
    --launcher pytorch "${@:3}"
