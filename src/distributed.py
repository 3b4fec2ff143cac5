"""Rank, group size and device id; data-parallel initialisation."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class DistInfo:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launcher_local_rank() -> int:
    """Local rank from OpenMPI, msrun or the usual variables (0 when not launched)."""
    for key in ("OMPI_COMM_WORLD_LOCAL_RANK", "MS_LOCAL_RANK_ID", "LOCAL_RANK", "DEVICE_ID"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 0


def launched_by_launcher() -> bool:
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "MS_WORKER_NUM", "RANK_SIZE", "MS_ROLE"))


def init_distributed(run_distribute: bool) -> DistInfo:
    """Initialise collective communication when asked; return this process's rank info."""
    if not run_distribute:
        return DistInfo()
    if not launched_by_launcher():
        raise RuntimeError("run_distribute=True needs a launcher: start with mpirun -n N or msrun "
                           "(see scripts/run_distribute_train_*.sh)")
    from mindspore import ParallelMode, set_auto_parallel_context
    from mindspore.communication import get_group_size, get_rank, init

    init()
    size = get_group_size()
    set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size)
    return DistInfo(rank=get_rank(), size=size, local_rank=launcher_local_rank())
