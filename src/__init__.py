"""CRNN for MindSpore.

Importing the package first chooses the CPU's oneDNN settings (:mod:`src.cpu_env`), so
every entry point, bench script, test and distributed rank gets them before MindSpore loads.
MindSpore's own log is limited to errors (``GLOG_v=3``) unless the user set ``GLOG_v``:
its warnings (deprecations inside MindSpore) used to come before the project's one-line
errors; ``GLOG_v=2`` brings them back.
"""
import os

from .cpu_env import configure_cpu as _configure_cpu

os.environ.setdefault("GLOG_v", "3")
_configure_cpu()
