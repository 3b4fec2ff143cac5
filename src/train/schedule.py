"""Learning-rate schedules and the optimizer factory."""
from __future__ import annotations

import math

import numpy as np
from mindspore import Tensor, nn


def learning_rates(cfg, steps_per_epoch: int) -> np.ndarray:
    """Per-step learning rate for the whole run.

    ``cosine`` (reference): constant within an epoch, cosine-decayed from epoch to epoch;
    ``cosine_step``: decayed every step; ``constant``. Optional linear warm-up.
    """
    total = cfg.epoch_size * steps_per_epoch
    steps = np.arange(total, dtype=np.float64)
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    if cfg.lr_schedule == "constant":
        lrs = np.full(total, cfg.learning_rate)
    else:
        if cfg.lr_schedule == "cosine":
            progress = np.floor(steps / steps_per_epoch) / cfg.epoch_size
        else:
            progress = np.clip((steps - warmup) / max(1, total - warmup), 0.0, 1.0)
        lrs = cfg.min_lr + 0.5 * (cfg.learning_rate - cfg.min_lr) * (1.0 + np.cos(math.pi * progress))
    if warmup:
        ramp = (steps[:warmup] + 1) / warmup
        lrs[:warmup] = np.minimum(lrs[:warmup], cfg.learning_rate * ramp)
    return lrs.astype(np.float32)


def build_optimizer(cfg, params, lrs: np.ndarray) -> nn.Optimizer:
    """``momentum`` (reference) or ``adam``, over the per-step learning-rate table."""
    if cfg.optimizer == "adam":
        return nn.Adam(params, learning_rate=Tensor(lrs), weight_decay=cfg.weight_decay)
    return _momentum(cfg, params, lrs)


def _momentum(cfg, params, lrs: np.ndarray) -> nn.Optimizer:
    """SGD with momentum (Nesterov by default) over the per-step schedule, as the reference.

    ``nn.Momentum`` computes the same update as the reference's ``nn.SGD`` with zero
    dampening, and keeps one state tensor instead of two (smaller checkpoints).
    """
    return nn.Momentum(params, learning_rate=Tensor(lrs), momentum=cfg.momentum, use_nesterov=cfg.nesterov,
                       weight_decay=cfg.weight_decay)
