"""CTC prefix beam search, optionally guided by a character n-gram prior built from a word list."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .greedy import greedy_decode

NEG_INF = -math.inf


def _logsumexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


class CharNgramPrior:
    """Character n-gram log-probabilities (add-one smoothed) estimated from a word list.

    ``score(prefix, c)`` is log P(c | last n-1 characters of prefix); ``weight`` scales it
    in the beam score (shallow fusion).
    """

    def __init__(self, words: Iterable[Sequence[int]], num_symbols: int, order: int = 3, weight: float = 0.3) -> None:
        self.order, self.weight, self.num_symbols = order, weight, num_symbols
        self.counts: Dict[Tuple[int, ...], Dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for word in words:
            padded = (-1,) * (order - 1) + tuple(word)
            for i in range(order - 1, len(padded)):
                self.counts[padded[i - order + 1:i]][padded[i]] += 1

    def score(self, prefix: Tuple[int, ...], c: int) -> float:
        ctx = ((-1,) * (self.order - 1) + prefix)[-(self.order - 1):] if self.order > 1 else ()
        table = self.counts.get(ctx, {})
        total = sum(table.values())
        return self.weight * math.log((table.get(c, 0) + 1) / (total + self.num_symbols))


def prefix_beam_search(log_probs: np.ndarray, blank: int, beam_width: int = 10,
                       prior: Optional[CharNgramPrior] = None, prune: float = -12.0) -> Tuple[List[int], float]:
    """Most probable label sequence of one sample's [T, C] log-probabilities.

    Keeps, for each prefix, the log-probability of all alignments ending in a blank (pb)
    and in its last symbol (pnb). Returns (ids, P(ids | x)) — the sum over alignments, not
    one path — with the prior excluded from the returned probability. ``beam_width`` 1 is
    greedy (best-path) decoding, as the ``--beam_width`` default promises.
    """
    if beam_width <= 1 and prior is None:
        return greedy_decode(log_probs[:, None, :], blank)[0]
    beams: Dict[Tuple[int, ...], Tuple[float, float, float]] = {(): (0.0, NEG_INF, 0.0)}  # pb, pnb, prior
    for t in range(log_probs.shape[0]):
        frame = log_probs[t]
        candidates = [c for c in range(len(frame)) if frame[c] > prune] or [int(frame.argmax())]
        nxt: Dict[Tuple[int, ...], List[float]] = defaultdict(lambda: [NEG_INF, NEG_INF, 0.0])
        for prefix, (pb, pnb, lm) in beams.items():
            total = _logsumexp(pb, pnb)
            for c in candidates:
                p = float(frame[c])
                if c == blank:
                    entry = nxt[prefix]
                    entry[0] = _logsumexp(entry[0], total + p)
                    entry[2] = lm
                    continue
                extended = prefix + (c,)
                entry = nxt[extended]
                entry[2] = lm + (prior.score(prefix, c) if prior else 0.0)
                if prefix and prefix[-1] == c:  # a repeat needs a blank in between to count twice
                    entry[1] = _logsumexp(entry[1], pb + p)
                    same = nxt[prefix]
                    same[1] = _logsumexp(same[1], pnb + p)
                    same[2] = lm
                else:
                    entry[1] = _logsumexp(entry[1], total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _logsumexp(kv[1][0], kv[1][1]) + kv[1][2], reverse=True)
        beams = {k: (v[0], v[1], v[2]) for k, v in ranked[:beam_width]}
    best, (pb, pnb, _) = max(beams.items(), key=lambda kv: _logsumexp(kv[1][0], kv[1][1]) + kv[1][2])
    return list(best), math.exp(_logsumexp(pb, pnb))
