"""Throughput, ETA and how long the step waited for data, over a window of steps."""
from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

T = TypeVar("T")


class ThroughputMeter:
    """Images per second over the current window (all ranks), the ETA it implies, and the share of the
    window spent waiting for the input pipeline (a data-bound run shows a high share at once)."""

    def __init__(self, images_per_step: int, ranks: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.images_per_step = images_per_step
        self.ranks = ranks
        self.clock = clock
        self.run_images = 0
        self.restart()

    def restart(self) -> None:
        """Start a new window (after a log line, or after work that is not training: evaluation, set-up)."""
        self.start = self.clock()
        self.images = 0
        self.waited = 0.0

    def timed(self, batches: Iterable[T]) -> Iterator[T]:
        """``batches``, counting the time spent waiting for each one as data wait."""
        iterator = iter(batches)
        while True:
            before = self.clock()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            self.waited += self.clock() - before
            yield batch

    def step(self) -> None:
        self.images += self.images_per_step
        self.run_images += self.images_per_step

    def elapsed(self) -> float:
        return max(self.clock() - self.start, 1e-9)

    def rate(self) -> float:
        """Images per second over the window, summed over ranks."""
        return self.images * self.ranks / self.elapsed()

    def data_wait(self) -> float:
        """Share of the window spent waiting for batches (0..1)."""
        return min(1.0, self.waited / self.elapsed())

    def eta(self, steps_left: int) -> float:
        """Seconds for ``steps_left`` more steps at this window's rate."""
        per_rank = self.images / self.elapsed()
        return steps_left * self.images_per_step / max(per_rank, 1e-9)


def progress(batches: Iterable[T], total: int, initial: int, desc: str, enabled: bool = True) -> Iterator[T]:
    """``batches`` with a progress bar of an epoch's steps when ``enabled`` and writing to a terminal; log lines
    then print above the bar. In a log file (no terminal) the periodic log lines are the progress."""
    bar = tqdm(total=total, initial=initial, desc=desc, unit="step", leave=False, dynamic_ncols=True,
               disable=None if enabled else True)
    if bar.disable:
        yield from batches
        return
    try:
        with logging_redirect_tqdm():
            for batch in batches:
                yield batch
                bar.update(1)
    finally:
        bar.close()
