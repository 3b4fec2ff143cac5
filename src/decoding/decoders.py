"""Decoders as small objects that own their alphabet: ``decoder(log_probs [T, C], index) -> (text, confidence)``
for one sample, ``decoder.decode_batch(log_probs [T, N, C])`` for a batch. :func:`build_decoder` is the one
factory; it takes a decoder spec (:mod:`src.decoding.spec`: ``greedy``, ``beam:10``, ``lexicon:50`` ...).

``index`` is the sample's position in its set; only per-image lexicons (IIIT5K's 50/1k words) use it.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..charset import Charset
from ..errors import UsageError
from .beam import CharNgramPrior, prefix_beam_search
from .greedy import greedy_decode
from .lexicon import LexiconSearch, read_word_list
from .spec import DecoderSpec, parse_decoder_spec


class Decoder:
    """Base: per-sample ``__call__`` and a batch loop over it."""

    name = "decoder"

    def __init__(self, charset: Charset) -> None:
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


class BeamSearchDecoder(Decoder):
    """CTC prefix beam search, optionally with a character n-gram prior built from a word list."""

    name = "beam"

    def __init__(self, charset: Charset, beam_width: int = 10, prior_words: Sequence[str] = (),
                 prior_weight: float = 0.3) -> None:
        super().__init__(charset)
        self.beam_width = beam_width
        self.prior: Optional[CharNgramPrior] = None
        if prior_words:
            encoded = [[charset.index[c] for c in charset.normalize(w) if c in charset.index] for w in prior_words]
            self.prior = CharNgramPrior([w for w in encoded if w], charset.num_classes, weight=prior_weight)

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        ids, conf = prefix_beam_search(log_probs, self.charset.blank, self.beam_width, self.prior)
        return self.charset.decode(ids), conf


class LexiconDecoder(Decoder):
    """The lexicon word with the highest CTC probability: one word list, or one list per image."""

    name = "lexicon"

    def __init__(self, charset: Charset, per_image: Optional[Sequence[Sequence[str]]] = None, words: Sequence[str] = (),
                 delta: int = 3) -> None:
        super().__init__(charset)
        if per_image is None and not words:
            raise UsageError("lexicon decoding needs per-image lexicons or a word list")
        self.per_image = per_image
        self.delta = delta
        self.shared = LexiconSearch([charset.normalize(w) for w in words], charset, delta) if words else None
        self._cache: Dict[int, LexiconSearch] = {}
        self.greedy = GreedyDecoder(charset)

    def _for(self, index: int) -> LexiconSearch:
        if self.shared is not None:
            return self.shared
        if index not in self._cache:
            self._cache.clear()  # samples come in order: keep only the current image's tree
            self._cache[index] = LexiconSearch([self.charset.normalize(w) for w in self.per_image[index]],
                                               self.charset, self.delta)
        return self._cache[index]

    def __call__(self, log_probs: np.ndarray, index: int = 0) -> Tuple[str, float]:
        return self._for(index).decode(log_probs, self.greedy(log_probs)[0])


def build_decoder(spec: Union[str, DecoderSpec], charset: Charset, per_image: Optional[Sequence[Sequence[str]]] = None,
                  words: Sequence[str] = ()) -> Decoder:
    """The decoder for ``spec`` (text or parsed). A per-image lexicon spec (``lexicon:50``) needs the set's
    ``per_image`` lists; ``lexicon=FILE`` reads its word list; a bare ``lexicon`` takes ``words``."""
    spec = parse_decoder_spec(spec) if isinstance(spec, str) else spec
    if spec.kind == "greedy":
        return GreedyDecoder(charset)
    if spec.kind == "beam":
        prior = read_word_list(spec.prior) if spec.prior else ()
        return BeamSearchDecoder(charset, spec.beam_width, prior, spec.prior_weight)
    if spec.per_image or (not spec.lexicon and per_image is not None):
        if per_image is None:
            raise UsageError(f"decoder {spec}: per-image lexicons come with a benchmark set (IIIT5K), not here")
        return LexiconDecoder(charset, per_image, delta=spec.delta)
    return LexiconDecoder(charset, words=read_word_list(spec.lexicon) if spec.lexicon else words, delta=spec.delta)


#: the names these classes had before the decoder specs (one release)
BeamDecoder = BeamSearchDecoder
LexiconWordDecoder = LexiconDecoder
