"""What goes wrong inside a run without stopping it: unreadable images (counted per reason), non-finite
steps (skipped; too many in a row stop the run) and loss-scale overflows (the scaler at work)."""
from __future__ import annotations

import logging
from collections import Counter
from typing import Dict, List

import numpy as np

from ..data.source import STATUS_REASONS
from .signals import TrainingAborted

log = logging.getLogger("crnn")


class StepHealth:
    """Counts of skipped images, non-finite steps and loss-scale overflows over a run."""

    def __init__(self, max_bad_steps: int, dynamic_loss_scale: bool = False) -> None:
        self.max_bad_steps = max_bad_steps
        self.dynamic_loss_scale = dynamic_loss_scale
        self.skips: Counter = Counter()
        self.bad_steps = 0
        self.consecutive_bad = 0
        self.overflows = 0

    def counts(self) -> Dict[str, object]:
        """The run summary's share: skipped images by reason, non-finite steps, loss-scale overflows."""
        return {"skipped_images": dict(self.skips), "bad_steps": self.bad_steps, "loss_scale_overflows": self.overflows}

    def count_skips(self, status: np.ndarray) -> None:
        """Count (and log) the placeholders of a batch: images that could not be used, by reason."""
        for code, reason in STATUS_REASONS.items():
            n = int((status == code).sum())
            if n:
                self.skips[reason] += n
                log.warning("%d images in this batch skipped: %s (total so far: %d)", n, reason, self.skips[reason])

    def check(self, finite: bool, loss: float, scale: float, scale_now: float, keys: List[str], step: int) -> None:
        """Count a skipped step. Under dynamic loss scaling a step whose loss is finite but whose gradients
        overflowed at a scale above 1 is the scaler's normal probing (about one per ``loss_scale_window``
        steps): logged, not a bad step. Everything else non-finite counts towards ``max_bad_steps``."""
        if finite:
            self.consecutive_bad = 0
            return
        if self.dynamic_loss_scale and np.isfinite(loss) and scale > 1.0:
            self.overflows += 1
            log.info("step %d: gradients overflow at loss scale %g: update skipped, scale now %g", step, scale,
                     scale_now)
            return
        self.bad_steps += 1
        self.consecutive_bad += 1
        log.warning("step %d: non-finite loss/gradients (loss %s): update skipped (%d consecutive); samples %s",
                    step, loss, self.consecutive_bad, keys)
        if self.consecutive_bad >= self.max_bad_steps:
            raise TrainingAborted(f"{self.consecutive_bad} consecutive non-finite steps (max_bad_steps="
                                  f"{self.max_bad_steps}): lower the learning rate, check the data "
                                  f"(labels vs alphabet) or use amp_level=O0")
