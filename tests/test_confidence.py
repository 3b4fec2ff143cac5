"""Per-character confidence: CTC forced alignment against a brute-force oracle, and the probabilities read."""
import itertools

import numpy as np
import pytest

from src.charset import Charset
from src.decoding.confidence import CharProb, Reading, char_probs, forced_alignment, min_char_prob


def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def brute_force_spans(log_probs, ids, blank):
    """Spans of the most likely path (enumerating every path) that collapses to ``ids``."""
    best, best_path = -np.inf, None
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        if collapse(path, blank) == list(ids):
            score = sum(log_probs[t, c] for t, c in enumerate(path))
            if score > best:
                best, best_path = score, path
    if best_path is None:
        return None
    spans, k, prev = [], -1, None
    for t, c in enumerate(best_path):
        if c != blank and c != prev:
            spans.append([t, t + 1])
        elif c != blank and c == prev:
            spans[-1][1] = t + 1
        prev = c
    return [tuple(s) for s in spans]


@pytest.mark.parametrize("seed", range(12))
def test_forced_alignment_finds_the_most_likely_path_spelling_the_word(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(6, 3)) * 2
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    blank = 2
    for ids in ([0], [0, 1], [1, 1], [0, 0, 1], [0, 1, 0], [1, 1, 1], []):
        assert forced_alignment(log_probs, ids, blank) == brute_force_spans(log_probs, ids, blank), ids


def test_a_word_the_frames_cannot_hold_is_unalignable():
    log_probs = np.log(np.full((3, 3), 1 / 3))
    assert forced_alignment(log_probs, [0, 0, 0], blank=2) is None     # needs 5 frames (a blank between repeats)
    assert forced_alignment(log_probs, [0, 1, 0], blank=2) is not None


def test_char_probs_read_each_characters_best_frame_and_the_weakest_shows():
    charset = Charset("ab")
    probs = np.array([[0.9, 0.05, 0.05],    # a
                      [0.6, 0.1, 0.3],      # a again (same run)
                      [0.1, 0.1, 0.8],      # blank
                      [0.2, 0.4, 0.4],      # b, barely
                      [0.05, 0.05, 0.9]])   # blank
    chars = char_probs(np.log(probs), "ab", charset)
    assert [c.char for c in chars] == ["a", "b"] and (chars[0].start, chars[0].end) == (0, 2)
    assert chars[0].prob == pytest.approx(0.9) and chars[1].prob == pytest.approx(0.4)
    reading = Reading("ab", confidence=0.2, chars=chars)
    assert reading.min_char_prob == pytest.approx(0.4)
    assert min_char_prob((), empty=0.7) == 0.7
    assert char_probs(np.log(probs), "aaab", charset) == tuple(CharProb(c, 0.0, -1, -1) for c in "aaab")
