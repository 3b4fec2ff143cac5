"""Stopping a run: Ctrl-C / SIGTERM (checkpoint, then exit with 128 + the signal), too many bad steps, and the
command line that resumes it."""
from __future__ import annotations

import logging
import os
import shlex
import signal
import threading
from typing import Dict, List, Optional

from ..errors import CrnnError

log = logging.getLogger("crnn")


class TrainingAborted(CrnnError, RuntimeError):
    """Too many consecutive non-finite steps."""


class TrainingInterrupted(CrnnError, RuntimeError):
    """SIGINT/SIGTERM: a checkpoint was written; ``exit_code`` is 128 + the signal number."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def resume_command(argv: List[str]) -> str:
    """The command line that continues this run: the same flags with ``--resume=auto``."""
    kept = [a for a in argv if not a.startswith("--resume")]
    return " ".join(shlex.quote(a) for a in ["python"] + kept + ["--resume=auto"])


class StopRequest:
    """SIGINT/SIGTERM handler for the training loop: the first signal asks the loop to stop after the
    current step (it then checkpoints); a second one exits at once."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: Dict[int, object] = {}

    def _handle(self, signum, _frame) -> None:
        if self.signum is not None:
            os.write(2, b"\nsecond interrupt: exiting without a checkpoint\n")
            os._exit(128 + signum)
        self.signum = signum
        log.warning("%s received: stopping after this step and writing a checkpoint (again to exit at once)",
                    signal.Signals(signum).name)

    def install(self) -> None:
        """(Re)install the handlers: MindSpore's dataset iterators install their own SIGINT handler."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous = signal.signal(sig, self._handle)
                self._previous.setdefault(sig, previous)

    def __enter__(self) -> "StopRequest":
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
