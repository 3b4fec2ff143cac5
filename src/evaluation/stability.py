"""Can a hold-out rank the epochs of a run? A paired bootstrap over its crops.

Every epoch is scored on the same crops, so resampling the crops (with replacement) and re-picking the best
epoch on each resample shows how often the whole hold-out's pick would survive another draw of crops of the
same kind, and the spread of the epochs' means says how far apart they are in units of the noise of a
difference between two of them (paired: the same crops under both epochs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

import numpy as np

from ..errors import UsageError


@dataclass
class PickStability:
    """What a paired bootstrap says of one statistic over one run's epochs (fractions, not percent)."""

    epochs: List[int]
    means: List[float]                 # per epoch, on the whole hold-out
    pick: int                          # the epoch the whole hold-out picks (the earliest on a tie)
    same_pick: float                   # share of resamples that pick it too
    pick_share: Dict[int, float]       # share of resamples picking each epoch
    paired_se: float                   # median over epoch pairs of the standard error of their difference

    @property
    def spread(self) -> float:
        """The epochs' range (best mean - worst mean)."""
        return max(self.means) - min(self.means)


def paired_bootstrap(epochs: Mapping[int, Sequence[float]], resamples: int = 2000, seed: int = 0) -> PickStability:
    """Resample the crops ``resamples`` times (the same draw for every epoch) and re-pick the argmax each time.
    ``epochs``: per-crop scores (1/0 or 1-NED) of every epoch, all over the same crops in the same order."""
    order = sorted(epochs)
    if not order:
        raise UsageError("no epochs to compare")
    sizes = sorted({len(epochs[e]) for e in order})
    if len(sizes) != 1 or not sizes[0]:
        raise UsageError(f"every epoch needs scores for the same non-empty list of crops (got {sizes} crops)")
    scores = np.array([epochs[e] for e in order], dtype=np.float64)      # epochs x crops
    full = scores.mean(axis=1)
    pick = int(np.argmax(full))                                            # argmax: the first on a tie
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, scores.shape[1], size=(resamples, scores.shape[1]))
    means = np.stack([scores[:, d].mean(axis=1) for d in draws], axis=1)  # epochs x resamples
    picks = means.argmax(axis=0)
    counts = np.bincount(picks, minlength=len(order)) / resamples
    pairs = [np.std(means[i] - means[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    return PickStability(epochs=order, means=[float(m) for m in full], pick=order[pick],
                         same_pick=float(counts[pick]), pick_share={e: float(c) for e, c in zip(order, counts)},
                         paired_se=float(np.median(pairs)) if pairs else 0.0)
