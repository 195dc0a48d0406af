#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU, as stock mmseg / mmdet
# tools/slurm_train.sh:
#   [GPUS=16] [GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args ...]
# The srun settings (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON)
# are those of tools/slurm_launch.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py arguments ...]" >&2
    exit 2
fi
exec "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "$3" "${@:4}"
