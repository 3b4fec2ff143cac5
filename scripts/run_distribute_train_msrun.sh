#!/usr/bin/env bash
# Data-parallel training with MindSpore's own launcher, msrun (one or several machines).
# Usage: bash scripts/run_distribute_train_msrun.sh --worker_num=N --local_worker_num=M [--master_addr=ADDR]
#            [--master_port=PORT] [--node_rank=R] [--device_target=GPU|CPU] [--dry_run]
#            -- [DATASET] [DATASET_PATH] [extra --key=value ...]
# --node_rank is required on several machines (worker_num > local_worker_num); a --comm_timeout=S among the
# training flags becomes msrun's --cluster_time_out (default: comm_timeout of default_config.yaml).
# Two machines with 8 GPUs each: run on both (node_rank 0 on the master, 1 on the other)
#   bash scripts/run_distribute_train_msrun.sh --worker_num=16 --local_worker_num=8 --master_addr=10.0.0.1 \
#        --node_rank=0 -- synth ./Syn90k/mnt/ramdisk/max/90kDICT32px
# Logs: ./msrun_log/worker_<rank>.log and <save_checkpoint_path>/log_rank<N>.txt; on failure the workers'
# one-line errors (e.g. which rank was lost and how to resume) are printed after msrun's own message.
set -euo pipefail
source "$(dirname "$0")/_common.sh"
export_launch_command "$0" "$@"
usage() { sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1; }
WORKER_NUM=""; LOCAL_NUM=""; ADDR="127.0.0.1"; PORT=""; NODE_RANK=""; DEVICE="GPU"; DRY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --worker_num=*) WORKER_NUM=${1#*=} ;;
    --local_worker_num=*) LOCAL_NUM=${1#*=} ;;
    --master_addr=*) ADDR=${1#*=} ;;
    --master_port=*) PORT=${1#*=} ;;
    --node_rank=*) NODE_RANK=${1#*=} ;;
    --device_target=*) DEVICE=${1#*=} ;;
    --dry_run) DRY=1 ;;
    --) shift; break ;;
    *) echo "error: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
[ -n "$PORT" ] || PORT=$(default_sched_port)
if [ -z "$NODE_RANK" ]; then
  if [ -n "$WORKER_NUM" ] && [ -n "$LOCAL_NUM" ] && [ "$WORKER_NUM" != "$LOCAL_NUM" ]; then
    echo "error: several machines (worker_num $WORKER_NUM > local_worker_num $LOCAL_NUM): give --node_rank=0 on the" \
         "master and --node_rank=1, 2 ... on the others" >&2; exit 1
  fi
  NODE_RANK=0
fi
for v in WORKER_NUM LOCAL_NUM PORT NODE_RANK; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "error: --$(echo $v | tr A-Z a-z) must be a number, got '${!v}'" >&2; usage; }
done
[ "$LOCAL_NUM" -ge 1 ] && [ "$LOCAL_NUM" -le "$WORKER_NUM" ] || { echo "error: need 1 <= local_worker_num <= worker_num" >&2; exit 1; }
[ $# -ge 2 ] || usage
DATASET=$1; DATASET_PATH=$(abs_path "$2"); shift 2
TIMEOUT=""
for arg in "$@"; do case "$arg" in --comm_timeout=*) TIMEOUT=${arg#*=} ;; esac; done
[ -n "$TIMEOUT" ] || TIMEOUT=$(config_default comm_timeout)
[[ "$TIMEOUT" =~ ^-?[0-9]+$ ]] || { echo "error: --comm_timeout must be a number of seconds, got '$TIMEOUT'" >&2; exit 1; }
[ -n "${DRY:-}" ] || need_dir "$DATASET_PATH" "DATASET_PATH"  # a dry run needs no data
command -v msrun >/dev/null || [ -n "$DRY" ] || { echo "error: msrun not found (it comes with mindspore; put its venv on PATH)" >&2; exit 1; }
cmd=(msrun --worker_num="$WORKER_NUM" --local_worker_num="$LOCAL_NUM" --master_addr="$ADDR" --master_port="$PORT"
     --node_rank="$NODE_RANK" --cluster_time_out="$TIMEOUT" --log_dir=msrun_log --join=True
     "$PROJECT_DIR/train.py" --train_dataset="$DATASET" --train_dataset_path="$DATASET_PATH"
     --device_target="$DEVICE" --run_distribute=True "$@")
# msrun runs "python <script>" with the python first on PATH: make it the project's
export PATH="$(dirname "$PYTHON_BIN"):$PATH"
if [ -n "$DRY" ]; then echo "${cmd[@]}"; exit 0; fi
rc=0
"${cmd[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
  # msrun's own message is a traceback pointing at the logs: show the workers' one-line errors instead
  grep -ho "error (rank [0-9]*): .*\|^error: .*" msrun_log/worker_*.log 2>/dev/null | sort -u >&2 || true
  echo "msrun exited with $rc (worker logs: $(pwd)/msrun_log/)" >&2
fi
exit "$rc"
