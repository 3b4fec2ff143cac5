#!/usr/bin/env bash
# standalone_train on CPU: see run_standalone_train.sh for usage.
exec bash "$(dirname "$0")/run_standalone_train.sh" CPU "$@"
