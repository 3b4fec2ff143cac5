#!/usr/bin/env bash
# Data-parallel training with OpenMPI (called by the _gpu/_cpu wrappers; first argument: GPU or CPU).
# Usage: bash scripts/run_distribute_train_{gpu,cpu}.sh [DEVICE_NUM] [DATASET] [DATASET_PATH] [extra --key=value ...]
#   Several machines: export HOSTFILE=/path/to/hostfile (lines "host slots=8"); on CPU also
#   export MS_SCHED_HOST=<rank-0 host> MS_SCHED_PORT=<free port>.
#   The other hosts get PATH, LD_LIBRARY_PATH, PYTHONPATH, CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS, MS_SCHED_*,
#   MS_TOPO_TIMEOUT and every NCCL_*, GLOG_*, CRNN_*, DNNL_*, ONEDNN_* variable set here (mpirun -x).
#   DRY_RUN=1 prints the command instead of running it.
# Logs: ./log_output/ (mpirun's per-rank output) and <save_checkpoint_path>/log_rank<N>.txt.
set -euo pipefail
DEVICE=$1; shift
source "$(dirname "$0")/_common.sh"
export_launch_command "$(dirname "$0")/run_distribute_train_$(echo "$DEVICE" | tr A-Z a-z).sh" "$@"
require_args $# 3 "Usage: bash $0 [DEVICE_NUM] [DATASET] [DATASET_PATH] [extra --key=value ...]" \
  "e.g.   bash $0 8 synth ./Syn90k/mnt/ramdisk/max/90kDICT32px"
DEVICE_NUM=$1; DATASET=$2; DATASET_PATH=$(abs_path "$3"); shift 3
[[ "$DEVICE_NUM" =~ ^[1-9][0-9]*$ ]] || { echo "error: DEVICE_NUM must be a positive integer, got '$DEVICE_NUM'" >&2; exit 1; }
[ -n "${DRY_RUN:-}" ] || need_dir "$DATASET_PATH" "DATASET_PATH"  # a dry run needs no data
command -v mpirun >/dev/null || { echo "error: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
EXTRA=()
if [ -n "${HOSTFILE:-}" ]; then need_file "$HOSTFILE" "HOSTFILE"; EXTRA+=(--hostfile "$HOSTFILE"); fi
while read -r var; do EXTRA+=(-x "$var"); done < <(forwarded_env)
cmd=(mpirun --allow-run-as-root -n "$DEVICE_NUM" "${EXTRA[@]}" --output-filename log_output --merge-stderr-to-stdout
     "$PYTHON_BIN" "$PROJECT_DIR/train.py" --train_dataset="$DATASET" --train_dataset_path="$DATASET_PATH"
     --device_target="$DEVICE" --run_distribute=True "$@")
if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[@]}"; exit 0; fi
exec "${cmd[@]}"
