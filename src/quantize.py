"""Moved: int8 quantisation is :mod:`src.serve.quantize` (this name is kept for one release)."""
from .serve.quantize import *  # noqa: F401,F403
