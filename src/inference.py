"""Moved: the network backends is :mod:`src.serve.backends` (this name is kept for one release)."""
from .serve.backends import *  # noqa: F401,F403
