#!/usr/bin/env bash
# The reproducible chain: every stage of configs/reproduce/ in order, each picked on the train hold-out.
#   bash scripts/reproduce.sh [--stages=1,2] [--data=../shared/data] [--runs=./runs/reproduce] [train.py flags...]
#   bash scripts/reproduce.sh --check    (the stages run so far against configs/reproduce/record.json)
# Run it again after an interruption: finished stages are skipped, the running one resumes (see tools/reproduce.py).
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$PROJECT_DIR"
exec "$PYTHON_BIN" tools/reproduce.py --python="$PYTHON_BIN" "$@"
