# Shared helpers for the launch scripts (sourced, not run).
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_BIN="${PYTHON_BIN:-$( [ -x "$PROJECT_DIR/.venv/bin/python" ] && echo "$PROJECT_DIR/.venv/bin/python" || echo python )}"

need_dir() {  # need_dir PATH WHAT
  if [ ! -d "$1" ]; then echo "error: $2 '$1' is not a directory" >&2; exit 1; fi
}
need_file() {  # need_file PATH WHAT
  if [ ! -f "$1" ]; then echo "error: $2 '$1' is not a file" >&2; exit 1; fi
}
default_sched_port() {  # the scheduler port train.py uses under mpirun on CPU (one number, in src/distributed.py)
  (cd "$PROJECT_DIR" && "$PYTHON_BIN" -c 'from src.distributed import DEFAULT_SCHED_PORT; print(DEFAULT_SCHED_PORT)')
}
abs_path() { realpath -m -- "$1"; }  # also for paths that do not exist yet (dry runs)
require_args() {  # require_args HAVE NEED LINE... : print the lines (usage) and exit when HAVE < NEED
  local have=$1 need=$2; shift 2
  if [ "$have" -lt "$need" ]; then printf '%s\n' "$@" >&2; exit 1; fi
}
