"""Learning-rate schedules and the optimizer factory.

Each takes a small settings object whose ``from_config`` names the yaml keys it reads, so a value can be
followed from ``default_config.yaml`` to where it is used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List

import numpy as np
from mindspore import Parameter, Tensor, nn


@dataclass(frozen=True)
class Schedule:
    """The learning rate over a run: ``kind`` is cosine (reference: per epoch), cosine_step or constant."""

    kind: str
    learning_rate: float
    min_lr: float
    warmup_epochs: float
    epochs: int

    @classmethod
    def from_config(cls, cfg: Any) -> "Schedule":
        return cls(cfg.lr_schedule, cfg.learning_rate, cfg.min_lr, cfg.warmup_epochs, cfg.epoch_size)


@dataclass(frozen=True)
class OptimizerSettings:
    """``name`` is momentum (SGD with momentum, the reference) or adam."""

    name: str
    momentum: float
    nesterov: bool
    weight_decay: float

    @classmethod
    def from_config(cls, cfg: Any) -> "OptimizerSettings":
        return cls(cfg.optimizer, cfg.momentum, cfg.nesterov, cfg.weight_decay)


def learning_rates(schedule: Schedule, steps_per_epoch: int) -> np.ndarray:
    """Per-step learning rate for the whole run.

    ``cosine`` (reference): constant within an epoch, cosine-decayed from epoch to epoch;
    ``cosine_step``: decayed every step; ``constant``. Optional linear warm-up.
    """
    total = schedule.epochs * steps_per_epoch
    steps = np.arange(total, dtype=np.float64)
    warmup = int(schedule.warmup_epochs * steps_per_epoch)
    peak, low = schedule.learning_rate, schedule.min_lr
    if schedule.kind == "constant":
        lrs = np.full(total, peak)
    else:
        if schedule.kind == "cosine":
            progress = np.floor(steps / steps_per_epoch) / schedule.epochs
        else:
            progress = np.clip((steps - warmup) / max(1, total - warmup), 0.0, 1.0)
        lrs = low + 0.5 * (peak - low) * (1.0 + np.cos(math.pi * progress))
    if warmup:
        ramp = (steps[:warmup] + 1) / warmup
        lrs[:warmup] = np.minimum(lrs[:warmup], peak * ramp)
    return lrs.astype(np.float32)


def build_optimizer(settings: OptimizerSettings, params: List[Parameter], lrs: np.ndarray) -> nn.Optimizer:
    """Adam, or SGD with momentum (Nesterov by default) as the reference, over the per-step learning rates.

    ``nn.Momentum`` computes the same update as the reference's ``nn.SGD`` with zero
    dampening, and keeps one state tensor instead of two (smaller checkpoints).
    """
    if settings.name == "adam":
        return nn.Adam(params, learning_rate=Tensor(lrs), weight_decay=settings.weight_decay)
    return nn.Momentum(params, learning_rate=Tensor(lrs), momentum=settings.momentum,
                       use_nesterov=settings.nesterov, weight_decay=settings.weight_decay)
