"""Moved: the CTC loss is :mod:`src.train.loss` (this name is kept for one release)."""
from .train.loss import *  # noqa: F401,F403
