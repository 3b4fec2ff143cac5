"""Decoders as small objects that own their alphabet: ``decoder(log_probs [T, C], index) -> (text, confidence)``
for one sample, ``decoder.decode_batch(log_probs [T, N, C])`` for a batch. :func:`build_decoder` is the one factory.

``index`` is the sample's position in its set; only per-image lexicons (IIIT5K's 50/1k words) use it.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UsageError
from .beam import CharNgramPrior, prefix_beam_search
from .greedy import greedy_decode
from .lexicon import LexiconDecoder

KINDS = ("greedy", "beam", "lexicon")


class Decoder:
    """Base: per-sample ``__call__`` and a batch loop over it."""

    name = "decoder"

    def __init__(self, charset) -> None:
        self.charset = charset

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        raise NotImplementedError

    def decode_batch(self, log_probs: np.ndarray, first_index: int = 0) -> List[Tuple[str, float]]:
        return [self(log_probs[:, b], first_index + b) for b in range(log_probs.shape[1])]


class GreedyDecoder(Decoder):
    """Best path: the most likely class per frame, repeats merged, blanks dropped."""

    name = "greedy"

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        return self.decode_batch(log_probs[:, None, :])[0]

    def decode_batch(self, log_probs: np.ndarray, first_index: int = 0) -> List[Tuple[str, float]]:
        return [(self.charset.decode(ids), conf) for ids, conf in greedy_decode(log_probs, self.charset.blank)]


class BeamDecoder(Decoder):
    """CTC prefix beam search, optionally with a character n-gram prior built from a word list."""

    name = "beam"

    def __init__(self, charset, beam_width: int = 10, prior_words: Sequence[str] = (), prior_weight: float = 0.3) -> None:
        super().__init__(charset)
        self.beam_width = beam_width
        self.prior: Optional[CharNgramPrior] = None
        if prior_words:
            encoded = [[charset.index[c] for c in charset.normalize(w) if c in charset.index] for w in prior_words]
            self.prior = CharNgramPrior([w for w in encoded if w], charset.num_classes, weight=prior_weight)

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        ids, conf = prefix_beam_search(log_probs, self.charset.blank, self.beam_width, self.prior)
        return self.charset.decode(ids), conf


class LexiconWordDecoder(Decoder):
    """The lexicon word with the highest CTC probability: one word list, or one list per image."""

    name = "lexicon"

    def __init__(self, charset, per_image: Optional[Sequence[Sequence[str]]] = None, words: Sequence[str] = (),
                 delta: int = 3) -> None:
        super().__init__(charset)
        if per_image is None and not words:
            raise UsageError("lexicon decoding needs per-image lexicons or a word list")
        self.per_image = per_image
        self.delta = delta
        self.shared = LexiconDecoder([charset.normalize(w) for w in words], charset, delta) if words else None
        self._cache: Dict[int, LexiconDecoder] = {}
        self.greedy = GreedyDecoder(charset)

    def _for(self, index: int) -> LexiconDecoder:
        if self.shared is not None:
            return self.shared
        if index not in self._cache:
            self._cache.clear()  # samples come in order: keep only the current image's tree
            self._cache[index] = LexiconDecoder([self.charset.normalize(w) for w in self.per_image[index]],
                                                self.charset, self.delta)
        return self._cache[index]

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        return self._for(index).decode(log_probs, self.greedy(log_probs)[0])


def build_decoder(kind: str, charset, beam_width: int = 10, per_image: Optional[Sequence[Sequence[str]]] = None,
                  words: Sequence[str] = (), delta: int = 3, prior_words: Sequence[str] = (),
                  prior_weight: float = 0.3) -> Decoder:
    """``greedy``, ``beam`` (``beam_width``, optional n-gram prior) or ``lexicon`` (per-image lists or ``words``)."""
    if kind == "greedy":
        return GreedyDecoder(charset)
    if kind == "beam":
        return BeamDecoder(charset, beam_width, prior_words, prior_weight)
    if kind == "lexicon":
        return LexiconWordDecoder(charset, per_image, words, delta)
    raise UsageError(f"unknown decoder {kind!r} ({', '.join(KINDS)})")
