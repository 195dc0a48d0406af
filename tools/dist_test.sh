#!/usr/bin/env bash
# Distributed evaluation with torchrun, as stock mmseg / mmdet
# tools/dist_test.sh:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args ...]
# NNODES, NODE_RANK, MASTER_ADDR and PORT are read from the environment.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py arguments ...]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_launch.sh" "$3" test.py "$1" "$2" \
    --launcher pytorch "${@:4}"
