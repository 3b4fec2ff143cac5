"""Lexicon-constrained CTC decoding (Shi et al. 2015, section 2.4.2).

Each candidate word is scored by its exact CTC probability P(word | frames), computed
with the forward algorithm for all candidates at once (numpy, in log space). For large
lexicons the paper's speed-up is used: only the words within edit distance ``delta`` of
the lexicon-free (greedy) result, found with a BK-tree, are scored.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..charset import Charset
from ..errors import UsageError


def read_word_list(path: str) -> List[str]:
    """A word list (lexicon or prior): one word per line, blank lines ignored."""
    import os

    if not os.path.isfile(path):
        raise UsageError(f"word list not found: {path}")
    with open(path, encoding="utf-8") as f:
        return [w.strip() for w in f if w.strip()]


def ctc_log_likelihoods(log_probs: np.ndarray, targets: Sequence[Sequence[int]], blank: int) -> np.ndarray:
    """log P(target | x) for every target, from one sample's [T, C] log-probabilities.

    Vectorised over targets: the extended label sequences (blank, l1, blank, l2, ..., blank)
    are padded to the longest and the forward recursion runs on an [N, S] array, in
    probability space rescaled at every frame (the scales are summed in log space), so
    each step is a few adds and multiplies.
    """
    n = len(targets)
    if n == 0:
        return np.zeros(0)
    t_max = log_probs.shape[0]
    lengths = np.array([len(t) for t in targets])
    s_max = 2 * int(lengths.max()) + 1
    ext = np.full((n, s_max), blank, dtype=np.int64)
    for i, t in enumerate(targets):
        if len(t):
            ext[i, 1:2 * len(t):2] = t
    valid = (np.arange(s_max)[None, :] < (2 * lengths + 1)[:, None]).astype(np.float64)
    # a transition s-2 -> s is allowed when ext[s] is a label different from ext[s-2]
    skip = np.zeros((n, s_max))
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = np.exp(log_probs.astype(np.float64))[:, ext]          # [T, N, S]
    padded = np.zeros((n, s_max + 2))                              # two empty states before s = 0
    alpha = padded[:, 2:]
    alpha[:, 0] = emit[0, :, 0]
    alpha[:, 1] = emit[0, :, 1] * (lengths > 0)
    alpha *= valid
    log_scale = np.zeros(n)
    for t in range(1, t_max + 1):
        total = alpha.sum(axis=1)
        alive = total > 0
        log_scale += np.log(np.where(alive, total, 1.0))
        alpha /= np.where(alive, total, 1.0)[:, None]
        if t == t_max:
            break
        alpha[:] = (alpha + padded[:, 1:-1] + skip * padded[:, :-2]) * emit[t] * valid
    rows = np.arange(n)
    last = 2 * lengths
    end = alpha[rows, last] + np.where(lengths > 0, alpha[rows, np.maximum(last - 1, 0)], 0.0)
    with np.errstate(divide="ignore"):
        return np.where(end > 0, np.log(np.maximum(end, 1e-300)) + log_scale, -np.inf)


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class BKTree:
    """Burkhard-Keller tree over edit distance: all words within ``delta`` of a query."""

    def __init__(self, words: Iterable[str]) -> None:
        self.root: Optional[Tuple[str, Dict[int, tuple]]] = None
        for w in dict.fromkeys(words):
            self.add(w)

    def add(self, word: str) -> None:
        if self.root is None:
            self.root = (word, {})
            return
        node = self.root
        while True:
            d = edit_distance(word, node[0])
            if d == 0:
                return
            child = node[1].get(d)
            if child is None:
                node[1][d] = (word, {})
                return
            node = child

    def search(self, query: str, delta: int) -> List[str]:
        found, stack = [], [self.root] if self.root else []
        while stack:
            word, children = stack.pop()
            d = edit_distance(query, word)
            if d <= delta:
                found.append(word)
            stack.extend(child for dist, child in children.items() if d - delta <= dist <= d + delta)
        return found


class LexiconSearch:
    """Find the lexicon word with the highest CTC probability (the search behind :class:`LexiconDecoder`).

    ``words`` are already normalised (case-folded) strings; characters outside the alphabet
    make a word unreachable (skipped). With more than ``full_search_limit`` words the
    BK-tree pre-selects candidates within ``delta`` of the greedy result; if none is close
    enough every word is scored.
    """

    def __init__(self, words: Sequence[str], charset: Charset, delta: int = 3, full_search_limit: int = 1000) -> None:
        self.charset = charset
        self.words = [w for w in dict.fromkeys(words) if w and all(c in charset.index for c in w)]
        self.ids = {w: [charset.index[c] for c in w] for w in self.words}
        self.delta = delta
        self.tree = BKTree(self.words) if len(self.words) > full_search_limit else None

    def candidates(self, greedy_text: str) -> List[str]:
        if self.tree is None:
            return self.words
        return self.tree.search(greedy_text, self.delta) or self.words

    def decode(self, log_probs: np.ndarray, greedy_text: str) -> Tuple[str, float]:
        words = self.candidates(greedy_text)
        if not words:
            return "", 0.0
        scores = ctc_log_likelihoods(log_probs, [self.ids[w] for w in words], self.charset.blank)
        best = int(np.argmax(scores))
        return words[best], float(np.exp(scores[best]))
