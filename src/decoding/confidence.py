"""Per-character confidence: one definition for the report, the predictions TSV, infer.py and the Recognizer.

A decoded word is aligned to the frames by CTC forced alignment (the most likely path that spells exactly that
word: Viterbi over the usual blank-interleaved label). Each character gets the frames the path spends on it and
its **probability**: the highest probability the network gave that character on any of those frames. The word's
weakest character (:func:`min_char_prob`) is what shows one doubtful letter in an otherwise sure word; the
sequence confidence the decoders return (for greedy, the best path's probability) stays as it was.

Any decoder's output can be aligned this way (a lexicon word the best path did not spell included); a word
the frames cannot hold (more frames needed than the image has) gets no spans and probability 0 per character.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..charset import Charset


@dataclass(frozen=True)
class CharProb:
    """One decoded character: its probability and its frames ``[start, end)`` (both -1 when unalignable)."""

    char: str
    prob: float
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """A decoder's word with its sequence confidence and per-character probabilities (``Recognizer.read``)."""

    text: str
    confidence: float
    chars: Tuple[CharProb, ...]

    @property
    def min_char_prob(self) -> float:
        return min_char_prob(self.chars, self.confidence)


def forced_alignment(log_probs: np.ndarray, ids: Sequence[int], blank: int) -> Optional[List[Tuple[int, int]]]:
    """Frame span ``(start, end)`` of each label id on the most likely CTC path spelling ``ids`` exactly, or
    None when no path can (``log_probs``: [T, C] log-probabilities of one sample)."""
    steps = len(log_probs)
    if not ids:
        return []
    ext = np.full(2 * len(ids) + 1, blank, dtype=np.int64)
    ext[1::2] = ids
    states = len(ext)
    # a state may be entered from two back when it is a character unlike the one two back (skipping a blank)
    skip = np.zeros(states, bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(states, -np.inf)
    score[:2] = log_probs[0, ext[:2]]
    back = np.zeros((steps, states), np.int8)   # 0: stay, 1: from s-1, 2: from s-2
    for t in range(1, steps):
        stay, one, two = score, np.full(states, -np.inf), np.full(states, -np.inf)
        one[1:] = score[:-1]
        two[2:] = np.where(skip[2:], score[:-2], -np.inf)
        choice = np.stack([stay, one, two])
        back[t] = choice.argmax(axis=0)
        score = choice.max(axis=0) + log_probs[t, ext]
    end = states - 1 if score[-1] >= score[-2] else states - 2
    if not np.isfinite(score[end]):
        return None
    path = np.empty(steps, np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = end
        end -= back[t, end]
    spans = []
    for k in range(len(ids)):
        frames = np.flatnonzero(path == 2 * k + 1)
        spans.append((int(frames[0]), int(frames[-1]) + 1))
    return spans


def char_probs(log_probs: np.ndarray, text: str, charset: Charset) -> Tuple[CharProb, ...]:
    """Per-character probabilities of ``text`` read from ``log_probs`` ([T, C], one sample)."""
    chars = [c for c in charset.normalize(text) if c in charset.index]
    ids = [charset.index[c] for c in chars]
    spans = forced_alignment(log_probs, ids, charset.blank)
    if spans is None:
        return tuple(CharProb(c, 0.0, -1, -1) for c in chars)
    return tuple(CharProb(c, float(np.exp(log_probs[s:e, i].max())), s, e) for c, i, (s, e) in zip(chars, ids, spans))


def min_char_prob(chars: Sequence[CharProb], empty: float = 1.0) -> float:
    """The weakest character's probability (``empty`` for a word with no characters)."""
    return min((c.prob for c in chars), default=empty)
