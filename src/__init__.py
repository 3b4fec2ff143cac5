"""CRNN for MindSpore.

Importing the package first chooses the CPU's oneDNN settings (:mod:`src.cpu_env`), so
every entry point, bench script, test and distributed rank gets them before MindSpore loads.
"""
from .cpu_env import configure_cpu as _configure_cpu

_configure_cpu()
