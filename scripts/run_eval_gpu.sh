#!/usr/bin/env bash
# eval on GPU: see run_eval.sh for usage.
exec bash "$(dirname "$0")/run_eval.sh" GPU "$@"
