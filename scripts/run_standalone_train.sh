#!/usr/bin/env bash
# Single-device training on $DEVICE (called by the _gpu/_cpu wrappers).
# Usage: bash scripts/run_standalone_train_{gpu,cpu}.sh [DATASET] [DATASET_PATH] [extra --key=value ...]
#   DATASET: synth | rendered | iiit5k | ic03 | ic13 | svt   (rendered with no path: words rendered on the fly)
set -euo pipefail
DEVICE=$1; shift
source "$(dirname "$0")/_common.sh"
require_args $# 1 "Usage: bash $0 [DATASET] [DATASET_PATH] [extra --key=value ...]" \
  "e.g.   bash $0 synth ./Syn90k/mnt/ramdisk/max/90kDICT32px"
DATASET=$1; shift
DATASET_PATH=""
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then DATASET_PATH=$(abs_path "$1"); need_dir "$DATASET_PATH" "DATASET_PATH"; shift; fi
cd "$PROJECT_DIR"
exec "$PYTHON_BIN" train.py --train_dataset="$DATASET" --train_dataset_path="$DATASET_PATH" --device_target="$DEVICE" "$@"
