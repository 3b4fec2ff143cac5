"""Moved: the Recognizer is :mod:`src.serve.recognizer` (this name is kept for one release)."""
from .serve.recognizer import *  # noqa: F401,F403
