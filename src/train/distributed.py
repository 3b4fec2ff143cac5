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
from typing import List, Mapping, Optional, Tuple

from ..errors import SetupError

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
    #: what the set-up decided and the log should say (device, time-outs)
    notes: Tuple[str, ...] = ()

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(env: Mapping[str, str], *keys: str) -> Optional[Tuple[str, int]]:
    """The first of ``keys`` set to a non-negative integer in ``env``, with its value."""
    for key in keys:
        value = env.get(key, "").strip()
        if value.isdigit():
            return key, int(value)
    return None


@dataclass(frozen=True)
class DeviceChoice:
    """The device id to pass to ``mindspore.set_device`` (None: MindSpore decides) and why."""

    device_id: Optional[int]
    reason: str


#: Local-rank variables of launchers other than OpenMPI and msrun: torchrun/SLURM-style
#: LOCAL_RANK, SLURM's own, MPICH / Intel MPI.
_LOCAL_RANK_KEYS = ("LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID")


def _visible_devices(env: Mapping[str, str]) -> Optional[List[str]]:
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [d for d in value.replace(" ", "").split(",") if d]


def choose_device(env: Mapping[str, str], device_target: str, configured_id: int,
                  distributed: bool) -> DeviceChoice:
    """The device of this process, from the launcher's environment.

    * Not distributed: ``--device_id``.
    * One visible GPU (``CUDA_VISIBLE_DEVICES`` with one entry, e.g. SLURM ``--gpus-per-task=1``):
      device 0, whatever the local rank.
    * OpenMPI: ``OMPI_COMM_WORLD_LOCAL_RANK``.
    * msrun (``MS_ROLE`` set by the launcher, not by OpenMPI): None, so MindSpore negotiates the
      device itself (its documented behaviour for ``set_device(target, None)`` under msrun);
      msrun's ``DEVICE_ID`` (the local rank) is reported.
    * torchrun/SLURM/MPICH: ``LOCAL_RANK``, ``SLURM_LOCALID``, ``MPI_LOCALRANKID``.

    No MPI library is initialised to find out. A local rank beyond the visible GPUs is an error.
    """
    if not distributed:
        return DeviceChoice(configured_id, "--device_id")
    visible = _visible_devices(env) if device_target == "GPU" else None
    if visible is not None and len(visible) == 1:
        return DeviceChoice(0, f"the only GPU visible (CUDA_VISIBLE_DEVICES={visible[0]})")
    found = _env_int(env, "OMPI_COMM_WORLD_LOCAL_RANK")
    if found is None and "MS_ROLE" in env:
        msrun_id = env.get("DEVICE_ID", "?")
        return DeviceChoice(None, f"chosen by MindSpore under msrun (DEVICE_ID={msrun_id})")
    found = found or _env_int(env, *_LOCAL_RANK_KEYS)
    if found is None:
        return DeviceChoice(configured_id, "--device_id (the launcher sets no local rank)")
    key, local_rank = found
    if visible and local_rank >= len(visible):
        raise SetupError(f"local rank {local_rank} ({key}) but CUDA_VISIBLE_DEVICES lists {len(visible)} GPUs "
                         f"({','.join(visible)}): start at most {len(visible)} processes per machine")
    return DeviceChoice(local_rank, f"local rank ({key}={local_rank})")


def under_openmpi() -> bool:
    return under_openmpi_env(os.environ)


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


def prepare_cpu_cluster_under_mpirun(device_target: str, timeout_s: float = 300) -> None:
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
    _wait_for_scheduler(host, port, scheduler, timeout_s)
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


def comm_timeout_note(env: Mapping[str, str], device_target: str, timeout_s: int) -> Tuple[Optional[str], str]:
    """Where ``--comm_timeout`` goes under this launcher: (value for MS_TOPO_TIMEOUT or None, a log line).

    * msrun already exported MS_TOPO_TIMEOUT from its ``--cluster_time_out`` (the msrun script
      passes ``--comm_timeout`` there); a different value here cannot change it any more.
    * CPU under mpirun: this module builds MindSpore's cluster, so MS_TOPO_TIMEOUT (MindSpore's
      cluster build-up time-out) and the wait for the scheduler both follow ``--comm_timeout``.
    * GPU/Ascend under mpirun: NCCL/HCCL are bootstrapped over MPI, which reads no MindSpore
      time-out; a rank that never starts is mpirun's to report.
    """
    if "MS_ROLE" in env and not under_openmpi_env(env):
        current = env.get("MS_TOPO_TIMEOUT", "")
        if current and current != str(timeout_s):
            return None, (f"cluster time-out {current} s (msrun --cluster_time_out); --comm_timeout={timeout_s} "
                          f"does not apply under msrun: pass it to scripts/run_distribute_train_msrun.sh")
        return None, f"cluster time-out {current or '?'} s (msrun --cluster_time_out)"
    if device_target == "CPU":
        if "MS_TOPO_TIMEOUT" in env:
            return None, f"cluster time-out {env['MS_TOPO_TIMEOUT']} s (MS_TOPO_TIMEOUT from the environment)"
        return str(timeout_s), f"cluster time-out {timeout_s} s (--comm_timeout)"
    return None, (f"--comm_timeout does not apply to {device_target} under mpirun (NCCL/HCCL start over MPI); "
                  f"mpirun ends the job when a rank fails")


def under_openmpi_env(env: Mapping[str, str]) -> bool:
    return "OMPI_COMM_WORLD_SIZE" in env


def init_distributed(run_distribute: bool, device_target: str = "CPU", timeout_s: int = 0) -> DistInfo:
    """Initialise collective communication when asked; return this process's rank info."""
    if not run_distribute:
        return DistInfo()
    if not launched_by_launcher():
        raise SetupError("run_distribute=True needs a launcher: start with mpirun -n N or msrun "
                           "(see scripts/run_distribute_train_*.sh)")
    topo_timeout, note = comm_timeout_note(os.environ, device_target, timeout_s)
    if topo_timeout is not None:
        os.environ["MS_TOPO_TIMEOUT"] = topo_timeout
    prepare_cpu_cluster_under_mpirun(device_target, timeout_s or 300)
    from mindspore import ParallelMode, set_auto_parallel_context
    from mindspore.communication import get_group_size, get_rank, init

    init()
    size = get_group_size()
    set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size)
    return DistInfo(rank=get_rank(), size=size, notes=(note,))
