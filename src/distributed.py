"""Data-parallel set-up: rank, group size, device id, and launching under mpirun or msrun.

* GPU (and Ascend): ``mpirun -n 8 python train.py ... --run_distribute=True`` — MindSpore
  reads the OpenMPI environment and ``init()`` brings up NCCL (HCCL on Ascend).
* CPU: MindSpore's collectives (mccl) need its own cluster variables and a scheduler
  process, which msrun provides. Under plain mpirun this module provides them from the
  OpenMPI rank (rank 0 also starts the scheduler), so the same launch command works.
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from .errors import SetupError

log = logging.getLogger("crnn")

DEFAULT_SCHED_PORT = 8118  # also msrun's default in scripts/run_distribute_train_msrun.sh (read from here)
# The scheduler is not an MPI rank: it gets none of the launcher's variables.
_LAUNCHER_ENV_PREFIXES = ("OMPI_", "PMIX_", "OPAL_")
# The scheduler process: MindSpore's init() in the MS_SCHED role returns once every worker has
# unregistered. A watchdog thread ends it if rank 0 (its parent) is gone and it has not
# finished within a grace period, so a crashed job never leaves it holding the port.
_SCHEDULER_CODE = """
import os, threading, time
parent = os.getppid()
def watchdog():
    while os.getppid() == parent:
        time.sleep(1)
    time.sleep({grace})
    os._exit(1)
threading.Thread(target=watchdog, daemon=True).start()
import mindspore as ms
from mindspore.communication import init
ms.set_device("CPU")
init()
"""
SCHEDULER_GRACE_S = 60


@dataclass
class DistInfo:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(*keys: str):
    for key in keys:
        value = os.environ.get(key, "")
        if value.isdigit():
            return int(value)
    return None


def launcher_local_rank() -> int:
    """Local rank from OpenMPI, msrun or the usual variables; mpi4py as a last resort; else 0."""
    found = _env_int("OMPI_COMM_WORLD_LOCAL_RANK", "MS_LOCAL_RANK_ID", "LOCAL_RANK", "MPI_LOCALRANKID")
    if found is not None:
        return found
    try:  # other MPI implementations: derive the local rank from a node-local communicator
        from mpi4py import MPI

        return MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    except Exception:  # noqa: BLE001 (no MPI runtime: not launched by MPI)
        return 0


def under_openmpi() -> bool:
    return "OMPI_COMM_WORLD_SIZE" in os.environ


def launched_by_launcher() -> bool:
    return under_openmpi() or "MS_ROLE" in os.environ or "RANK_SIZE" in os.environ


def cluster_env_from_openmpi(env: dict) -> dict:
    """MindSpore cluster variables (MS_*) for this OpenMPI rank; values already set win."""
    rank = int(env["OMPI_COMM_WORLD_RANK"])
    size = int(env["OMPI_COMM_WORLD_SIZE"])
    local_size = int(env.get("OMPI_COMM_WORLD_LOCAL_SIZE", size))
    if local_size != size and "MS_SCHED_HOST" not in env:
        raise SetupError("multi-node mpirun on CPU: export MS_SCHED_HOST=<address of the rank-0 node> "
                           "(and MS_SCHED_PORT) with mpirun -x MS_SCHED_HOST -x MS_SCHED_PORT")
    return {
        "MS_ROLE": "MS_WORKER",
        "MS_WORKER_NUM": str(size),
        "MS_NODE_ID": str(rank),
        "MS_SCHED_HOST": env.get("MS_SCHED_HOST", "127.0.0.1"),
        "MS_SCHED_PORT": env.get("MS_SCHED_PORT", str(DEFAULT_SCHED_PORT)),
    }


def _start_scheduler(cluster: dict) -> subprocess.Popen:
    """Start MindSpore's scheduler beside rank 0.

    It outlives rank 0 on purpose: the other ranks may still be unregistering when rank 0 exits.
    Rank 0 must not wait for it from Python either (atexit runs before MindSpore's own C++
    finalisation, which still needs the scheduler: waiting there deadlocks until a timeout).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_ENV_PREFIXES)}
    env.update(cluster, MS_ROLE="MS_SCHED")
    env.pop("MS_NODE_ID", None)
    code = _SCHEDULER_CODE.format(grace=SCHEDULER_GRACE_S)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def prepare_cpu_cluster_under_mpirun(device_target: str) -> None:
    """On CPU under mpirun, turn the OpenMPI rank into MindSpore's cluster variables."""
    if device_target != "CPU" or not under_openmpi() or "MS_ROLE" in os.environ:
        return
    cluster = cluster_env_from_openmpi(dict(os.environ))
    host, port = cluster["MS_SCHED_HOST"], int(cluster["MS_SCHED_PORT"])
    scheduler = None
    if cluster["MS_NODE_ID"] == "0":
        if _listening(host, port):  # e.g. the scheduler of a job that ended less than a minute ago
            raise SetupError(f"port {port} on {host} is already in use: set MS_SCHED_PORT to a free port")
        scheduler = _start_scheduler(cluster)
    _wait_for_scheduler(host, port, scheduler)
    os.environ.update(cluster)


def _wait_for_scheduler(host: str, port: int, proc: subprocess.Popen | None, timeout_s: float = 300) -> None:
    """Block until the scheduler accepts connections.

    Measured with MindSpore 2.10: a worker whose first registration attempts hit a port that is
    not listening yet keeps failing for ~60 s after the scheduler is up; connecting only once it
    listens brings the cluster up in seconds.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"the MindSpore scheduler exited with code {proc.returncode} "
                               f"(is port {port} already in use? set MS_SCHED_PORT)")
        if _listening(host, port):
            return
        if time.monotonic() > deadline:
            raise SetupError(f"no MindSpore scheduler at {host}:{port} after {timeout_s:.0f} s")
        time.sleep(0.2)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def init_distributed(run_distribute: bool, device_target: str = "CPU", timeout_s: int = 0) -> DistInfo:
    """Initialise collective communication when asked; return this process's rank info."""
    if not run_distribute:
        return DistInfo()
    if not launched_by_launcher():
        raise SetupError("run_distribute=True needs a launcher: start with mpirun -n N or msrun "
                           "(see scripts/run_distribute_train_*.sh)")
    if timeout_s:
        os.environ.setdefault("MS_TOPO_TIMEOUT", str(timeout_s))  # cluster build-up (msrun/dynamic networking)
    prepare_cpu_cluster_under_mpirun(device_target)
    from mindspore import ParallelMode, set_auto_parallel_context
    from mindspore.communication import get_group_size, get_rank, init

    init()
    size = get_group_size()
    set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size)
    return DistInfo(rank=get_rank(), size=size)
