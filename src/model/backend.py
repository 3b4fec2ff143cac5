"""A backend: anything that maps a batch of images to logits, ``images [B, 3, H, W] float32 -> [T, B, C]``.

The MindSpore network is the first; the exported models of :mod:`src.serve.backends` are the others. Scoring
(training's hold-out included) needs only this module, so training never imports serving code.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from mindspore import Tensor, nn


class Backend:
    """Callable network; ``batch_size`` is fixed for exported models (None: any)."""

    batch_size: Optional[int] = None
    name = "backend"

    def __call__(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class MindSporeBackend(Backend):
    """A MindSpore network in inference mode (any batch size)."""

    name = "mindspore"

    def __init__(self, net: nn.Cell) -> None:
        self.net = net
        self.net.set_train(False)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.net(Tensor(images)).asnumpy()


def run_batched(backend: Backend, images: np.ndarray) -> np.ndarray:
    """Logits [T, N, C] for N images, padding to the backend's fixed batch size when needed."""
    n = len(images)
    if backend.batch_size is None or backend.batch_size == n:
        return backend(images)
    b = backend.batch_size
    outputs = []
    for start in range(0, n, b):
        chunk = images[start:start + b]
        if len(chunk) < b:
            chunk = np.concatenate([chunk, np.zeros((b - len(chunk), *chunk.shape[1:]), chunk.dtype)])
        outputs.append(backend(chunk)[:, : min(b, n - start)])
    return np.concatenate(outputs, axis=1)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis (the classes), computed stably."""
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


#: the quarter turns (``np.rot90``'s ``k``) a tall crop is also read at: counter-clockwise, then clockwise
TURNS = (1, -1)
#: how much more probable (in nats of the best path: e^1 = 2.7 times) a turned reading must be than the upright
#: one to replace it. Measured with the shipped model on the 374 IC15 + SVT *train* crops at least as tall as
#: wide: without a margin the turned reading fixes 44 and breaks 4 (at 1.5 times taller: 42 and 1); with it,
#: 44 and 0 (42 and 0).
TURN_MARGIN = 1.0


def is_tall(image: np.ndarray, min_ratio: float) -> bool:
    """Whether an HxWx3 image is at least ``min_ratio`` times taller than wide (``min_ratio`` 0: never)."""
    height, width = image.shape[:2]
    return min_ratio > 0 and height >= min_ratio * width


def read_turned(backend: Backend, images: Sequence[np.ndarray], log_probs: np.ndarray, min_ratio: float,
                prepare: Callable[[np.ndarray], np.ndarray]) -> Tuple[np.ndarray, List[Optional[int]]]:
    """The turned reading of tall crops (vertical and rotated words in an upright box).

    Every image of ``images`` at least ``min_ratio`` times taller than wide is read again turned 90° each
    way (:data:`TURNS`), through ``prepare`` (BGR -> [3, H, W], the same preprocessing as the upright
    reading), and its column of ``log_probs`` [T, N, C] (the upright reading) is replaced by the reading
    whose best CTC path is the most probable, the upright one given a head start of :data:`TURN_MARGIN`
    nats (a tie keeps the earlier reading). The choice does not depend on
    the decoder, so every decoder then reads the same frames. Returns the log-probabilities (a copy when
    any image is tall) and the quarter turn kept for each image: 0 upright, ``None`` not tried (not tall).
    """
    tall = [i for i, image in enumerate(images) if is_tall(image, min_ratio)]
    turns: List[Optional[int]] = [None] * len(images)
    for i in tall:
        turns[i] = 0
    if not tall:
        return log_probs, turns
    batch = np.stack([prepare(np.ascontiguousarray(np.rot90(images[i], k))) for k in TURNS for i in tall])
    turned = log_softmax(run_batched(backend, batch).astype(np.float32))     # [T, len(TURNS) * len(tall), C]
    out = log_probs.copy()
    for j, i in enumerate(tall):
        best = float(out[:, i].max(axis=-1).sum()) + TURN_MARGIN
        for n, k in enumerate(TURNS):
            candidate = turned[:, n * len(tall) + j]
            score = float(candidate.max(axis=-1).sum())
            if score > best:
                best, out[:, i], turns[i] = score, candidate, k
    return out, turns
