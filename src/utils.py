"""Runtime set-up shared by the entry points: logging, device context, seeds; the small JSON files runs keep."""
from __future__ import annotations

import glob
import json
import logging
import os
import random
import shutil
import sys
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .cpu_env import configure_cpu
from .errors import CrnnError, SetupError

if TYPE_CHECKING:  # the device choice is training's and evaluation's: no import of src.train at run time
    from .config import Config
    from .train.distributed import DeviceChoice


def setup_logging(log_file: Optional[str] = None, rank: int = 0, to_stdout: bool = True) -> logging.Logger:
    """Log to stdout (rank 0) and to ``log_file``; lines carry the rank when it is not 0.

    Ranks other than 0 write their full log to their own file and only errors to stderr.
    """
    fmt = "%(asctime)s " + (f"[rank {rank}] " if rank else "") + "%(levelname)s %(message)s"
    console = logging.StreamHandler(sys.stdout if to_stdout else sys.stderr)
    if not to_stdout:
        console.setLevel(logging.ERROR)
    handlers: list = [console]
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=logging.INFO, format=fmt, datefmt="%H:%M:%S", handlers=handlers, force=True)
    log = logging.getLogger("crnn")
    log.info(configure_cpu())
    return log


def gpu_available() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*")) or shutil.which("nvidia-smi") is not None


def setup_context(cfg: Config, device: Optional[DeviceChoice] = None) -> None:
    """Select device and execution mode; fail early with a clear message when the device is absent.

    Without ``device``, ``cfg.device_id``; training passes its launcher's choice
    (:func:`src.train.distributed.choose_device`), whose id None leaves the choice to MindSpore (msrun).
    """
    import mindspore as ms

    if cfg.device_target == "GPU" and not gpu_available():
        raise SetupError("--device_target=GPU but no NVIDIA GPU is visible on this machine "
                           "(no /dev/nvidia*, no nvidia-smi); use --device_target=CPU")
    mode = ms.GRAPH_MODE if cfg.mode == "GRAPH" else ms.PYNATIVE_MODE
    ms.set_context(mode=mode)
    ms.set_device(cfg.device_target, cfg.device_id if device is None else device.device_id)


def set_seed(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds

    random.seed(seed)
    np.random.seed(seed)
    ms.set_seed(seed)
    ds.config.set_seed(seed)


#: long loops (training, evaluation) write a progress line at least this often (seconds)
LOG_EVERY_SECONDS = 30.0


def format_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def read_json(path: str, default: Any = None) -> Any:
    """A JSON file's value, or ``default`` ({} unless given) when the file is not there.

    A file that is not JSON, or holds another kind of value than ``default``, raises :class:`CrnnError`
    naming it (a hand edit, or a copy cut short), never the parser's traceback.
    """
    expected = {} if default is None else default
    if not os.path.isfile(path):
        return expected
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise CrnnError(f"{path} is not readable JSON ({err}); mend or delete it") from None
    if not isinstance(value, type(expected)):
        raise CrnnError(f"{path} holds a JSON {type(value).__name__}, not a {type(expected).__name__}")
    return value


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file, so that a kill mid-write leaves the old file or none."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: str, value: Any, **dump_args: Any) -> None:
    """:func:`write_text` of ``value`` as JSON."""
    write_text(path, json.dumps(value, **dump_args))
