"""The run's watch over its ranks: the heartbeat (:mod:`~src.train.heartbeat`) started for a data-parallel run,
and what a rank does when another is lost — one line (which rank, where, where this one stood, the last good
checkpoint, the command to resume), then the end of the process, whatever collective it was stuck in."""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Optional, Tuple

from ..config import Config
from ..errors import SetupError
from .distributed import DistInfo
from .heartbeat import Heartbeat, LostRank
from .signals import resume_command

log = logging.getLogger("crnn")

#: the exit code of a rank that stopped because another rank was lost
EXIT_RANK_LOST = 3


def lost_rank_line(lost: LostRank, rank: int, epoch: int, step: int, newest: str) -> str:
    """Which rank was lost and where, where this one stood, the last good checkpoint, and how to go on."""
    launch = os.environ.get("CRNN_LAUNCH_COMMAND") or resume_command(sys.argv)
    command = launch if launch.endswith("--resume=auto") else f"{launch} --resume=auto"
    return (f"error (rank {rank}): rank {lost.rank} ({lost.address}) was lost at epoch {epoch} step {step}: "
            f"{lost.reason}; last good checkpoint: {newest or 'none yet'}; to resume, run the launch command "
            f"again on every node with --resume=auto (here: {command})")


def start_heartbeat(cfg: Config, dist: DistInfo, position: Callable[[], Tuple[int, int]],
                    newest: Callable[[], str]) -> Optional[Heartbeat]:
    """The heartbeat of a data-parallel run (``--heartbeat_timeout``), at the scheduler's address, port + 1
    (``CRNN_HEARTBEAT_ADDR=host:port`` overrides: GPU runs under mpirun have no MindSpore scheduler)."""
    if dist.size < 2 or cfg.heartbeat_timeout <= 0:
        return None
    address = os.environ.get("CRNN_HEARTBEAT_ADDR", "")
    if not address and os.environ.get("MS_SCHED_HOST") and os.environ.get("MS_SCHED_PORT", "").isdigit():
        address = f"{os.environ['MS_SCHED_HOST']}:{int(os.environ['MS_SCHED_PORT']) + 1}"
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        log.info("heartbeat off: no MindSpore scheduler address (set CRNN_HEARTBEAT_ADDR=<rank 0 host>:<port>)")
        return None

    def on_lost(lost: LostRank) -> None:
        line = lost_rank_line(lost, dist.rank, *position(), lost.checkpoint or newest())
        log.error(line)
        if not dist.is_main:  # rank 0's log already goes to the terminal
            print(line, file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(EXIT_RANK_LOST)

    watch = Heartbeat(dist.rank, dist.size, host, int(port), cfg.heartbeat_timeout, on_lost, newest)
    try:
        watch.start(connect_timeout=max(cfg.comm_timeout, 60))
    except OSError as err:  # a port in use, no route to rank 0, a rank that never connected
        raise SetupError(f"heartbeat at {host}:{port}: {err} (choose another with CRNN_HEARTBEAT_ADDR=host:port, "
                         f"or --heartbeat_timeout=0 to run without)") from err
    log.info("heartbeat: %d ranks via %s:%s; a rank silent for %d s is lost", dist.size, host, port,
             cfg.heartbeat_timeout)
    return watch
