"""A backend: anything that maps a batch of images to logits, ``images [B, 3, H, W] float32 -> [T, B, C]``.

The MindSpore network is the first; the exported models of :mod:`src.serve.backends` are the others. Scoring
(training's hold-out included) needs only this module, so training never imports serving code.
"""
from __future__ import annotations

from typing import Optional

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
