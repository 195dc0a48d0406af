#!/usr/bin/env bash
# srun with the settings of tools/slurm_train.sh and tools/slurm_test.sh
# (shared by both), one task per GPU:
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_launch.sh PARTITION JOB_NAME TOOL.py [tool arguments ...]
# mmengine's slurm launcher reads SLURM_PROCID / SLURM_NTASKS /
# SLURM_NODELIST; MASTER_PORT (default 29500) may be set to avoid a clash.
set -euo pipefail
set -x
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME TOOL.py [tool arguments ...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
TOOLS="$(cd "$(dirname "$0")" && pwd)"
PYTHON=${PYTHON:-python}

# SRUN_ARGS is split into words on purpose (e.g. "--quotatype=auto -x node1")
PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
exec srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$TOOLS/$TOOL" "${@:4}" --launcher=slurm
