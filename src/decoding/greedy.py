"""Greedy (best-path) CTC decoding."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def greedy_decode(logits: np.ndarray, blank: int) -> List[Tuple[List[int], float]]:
    """Best path per sample of [T, B, C] logits: merge repeats, drop blanks.

    Returns (class ids, confidence) where confidence is the best path's probability.
    """
    probs = softmax(logits.astype(np.float32))
    best = probs.argmax(axis=2)                      # [T, B]
    path_prob = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0].prod(axis=0)
    out = []
    for b in range(best.shape[1]):
        seq = best[:, b]
        keep = np.ones(len(seq), bool)
        keep[1:] = seq[1:] != seq[:-1]
        ids = [int(c) for c in seq[keep] if c != blank]
        out.append((ids, float(path_prob[b])))
    return out
