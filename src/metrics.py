"""Moved: word accuracy is :mod:`src.evaluation.metrics` (this name is kept for one release)."""
from .evaluation.metrics import *  # noqa: F401,F403
