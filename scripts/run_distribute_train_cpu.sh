#!/usr/bin/env bash
# distribute_train on CPU: see run_distribute_train.sh for usage.
exec bash "$(dirname "$0")/run_distribute_train.sh" CPU "$@"
