"""Moved: launchers, devices and ranks is :mod:`src.train.distributed` (this name is kept for one release)."""
from .train.distributed import *  # noqa: F401,F403
