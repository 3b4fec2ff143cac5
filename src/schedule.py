"""Moved: the learning-rate schedule and optimizer is :mod:`src.train.schedule` (this name is kept for one release)."""
from .train.schedule import *  # noqa: F401,F403
