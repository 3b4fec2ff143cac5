#!/usr/bin/env bash
# Evaluate a checkpoint on $DEVICE (called by the _gpu/_cpu wrappers).
# Usage: bash scripts/run_eval_{gpu,cpu}.sh [DATASET] [DATASET_PATH] [CHECKPOINT_PATH] [extra --key=value ...]
#   DATASET: iiit5k | ic03 | ic13 | svt | synth
set -euo pipefail
DEVICE=$1; shift
source "$(dirname "$0")/_common.sh"
require_args $# 3 "Usage: bash $0 [DATASET] [DATASET_PATH] [CHECKPOINT_PATH] [extra --key=value ...]" \
  "e.g.   bash $0 iiit5k ./IIIT5K ./ckpt_0/crnn-10_14110.ckpt"
DATASET=$1; DATASET_PATH=$(abs_path "$2"); CKPT=$(abs_path "$3"); shift 3
need_dir "$DATASET_PATH" "DATASET_PATH"; need_file "$CKPT" "CHECKPOINT_PATH"
cd "$PROJECT_DIR"
exec "$PYTHON_BIN" eval.py --eval_dataset="$DATASET" --eval_dataset_path="$DATASET_PATH" --checkpoint_path="$CKPT" --device_target="$DEVICE" "$@"
