# Shared helpers for the launch scripts (sourced, not run).
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_BIN="${PYTHON_BIN:-$( [ -x "$PROJECT_DIR/.venv/bin/python" ] && echo "$PROJECT_DIR/.venv/bin/python" || echo python )}"

need_dir() {  # need_dir PATH WHAT
  if [ ! -d "$1" ]; then echo "error: $2 '$1' is not a directory" >&2; exit 1; fi
}
need_file() {  # need_file PATH WHAT
  if [ ! -f "$1" ]; then echo "error: $2 '$1' is not a file" >&2; exit 1; fi
}
default_sched_port() {  # the scheduler port train.py uses under mpirun on CPU (one number, in src/train/distributed.py)
  (cd "$PROJECT_DIR" && "$PYTHON_BIN" -c 'from src.train.distributed import DEFAULT_SCHED_PORT; print(DEFAULT_SCHED_PORT)')
}
abs_path() { realpath -m -- "$1"; }  # also for paths that do not exist yet (dry runs)
require_args() {  # require_args HAVE NEED LINE... : print the lines (usage) and exit when HAVE < NEED
  local have=$1 need=$2; shift 2
  if [ "$have" -lt "$need" ]; then printf '%s\n' "$@" >&2; exit 1; fi
}
# Variables a multi-machine mpirun must carry to the other hosts (mpirun -x NAME): paths, NCCL's network
# choice (NCCL_SOCKET_IFNAME, NCCL_IB_*), the GPUs to use, MindSpore's logging and cluster variables, oneDNN's
# ISA cap and the project's own CRNN_* variables. msrun needs none of this: it runs on each machine itself.
FORWARDED_ENV_NAMES=(PATH LD_LIBRARY_PATH PYTHONPATH CUDA_VISIBLE_DEVICES OMP_NUM_THREADS MS_SCHED_HOST MS_SCHED_PORT
                     MS_TOPO_TIMEOUT)
FORWARDED_ENV_PREFIXES=(NCCL_ GLOG_ CRNN_ DNNL_ ONEDNN_)
forwarded_env() {  # the names of the set variables among FORWARDED_ENV_NAMES / _PREFIXES, one per line
  local name prefix
  for name in "${FORWARDED_ENV_NAMES[@]}"; do [ -n "${!name+set}" ] && echo "$name"; done
  for prefix in "${FORWARDED_ENV_PREFIXES[@]}"; do compgen -e -- "$prefix" || true; done
}
config_default() {  # config_default KEY: the value of KEY in default_config.yaml
  (cd "$PROJECT_DIR" && "$PYTHON_BIN" -c 'import sys; from src.config import load_config; print(load_config([])[sys.argv[1]])' "$1")
}
export_launch_command() {  # export_launch_command SCRIPT ARGS...: the command a lost-rank message tells to rerun
  local script=$1; shift
  [ -n "${CRNN_LAUNCH_COMMAND:-}" ] || export CRNN_LAUNCH_COMMAND="bash $script$(printf ' %q' "$@")"
}
