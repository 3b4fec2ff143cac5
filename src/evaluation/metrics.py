"""Word accuracy with the standard scene-text protocol, and 1 - normalised edit distance per word."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from ..decoding.lexicon import edit_distance

_NOT_ALNUM_LOWER = re.compile(r"[^0-9a-z]")
_NOT_ALNUM = re.compile(r"[^0-9a-zA-Z]")


def normalize_text(text: str, case_sensitive: bool = False) -> str:
    """Protocol normalisation: keep ``[0-9a-z]`` after lower-casing (or ``[0-9a-zA-Z]`` when case-sensitive)."""
    if case_sensitive:
        return _NOT_ALNUM.sub("", text)
    return _NOT_ALNUM_LOWER.sub("", text.lower())


@dataclass
class WordAccuracy:
    """Counts exact matches after normalisation; unreadable images count as wrong."""

    case_sensitive: bool = False
    correct: int = 0
    total: int = 0
    unreadable: int = 0
    records: List[Tuple[str, str, str, bool]] = field(default_factory=list)
    similarities: List[float] = field(default_factory=list)  # per word: 1 - edit distance / the longer string

    def update(self, name: str, label: str, prediction: str, readable: bool = True) -> bool:
        truth = normalize_text(label, self.case_sensitive)
        read = normalize_text(prediction, self.case_sensitive) if readable else ""
        ok = readable and read == truth
        self.total += 1
        self.correct += int(ok)
        self.unreadable += int(not readable)
        self.similarities.append(word_similarity(truth, read) if readable else 0.0)
        self.records.append((name, label, prediction, ok))
        return ok

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def char_accuracy(self) -> float:
        """Mean of 1 - normalised edit distance (ICDAR 2019's 1-N.E.D.): a word read 8 of 9 characters right
        counts 0.89 instead of 0 (a finer score where whole matches are rare: long strings, text lines)."""
        return sum(self.similarities) / self.total if self.total else 0.0

    def per_crop(self) -> Dict[str, List[float]]:
        """Each word's score by both statistics: ``word`` 1/0 (exact match), ``char`` 1-NED."""
        return {"word": [float(r[3]) for r in self.records], "char": list(self.similarities)}


def word_similarity(truth: str, read: str) -> float:
    """1 - edit distance / the longer of the two (1.0 for two empty strings)."""
    longest = max(len(truth), len(read))
    return 1.0 - edit_distance(truth, read) / longest if longest else 1.0
