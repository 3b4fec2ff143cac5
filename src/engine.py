"""Moved: the training loop is :mod:`src.train.trainer`, its parts are in ``src/train/``.

Kept for one release so that ``from src.engine import Trainer`` and friends still work.
"""
from .train.signals import StopRequest, TrainingAborted, TrainingInterrupted, resume_command
from .train.step import FP16_CELLS, TrainStep, build_train_step, mixed_precision
from .train.checkpoints import resume_path
from .train.trainer import Trainer, adopt_resumed_spec, parameter_checksum

__all__ = ["FP16_CELLS", "StopRequest", "Trainer", "TrainingAborted", "TrainingInterrupted", "TrainStep",
           "adopt_resumed_spec", "build_train_step", "mixed_precision", "parameter_checksum", "resume_command",
           "resume_path"]
