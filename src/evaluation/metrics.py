"""Word accuracy with the standard scene-text protocol."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Tuple

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

    def update(self, name: str, label: str, prediction: str, readable: bool = True) -> bool:
        ok = readable and normalize_text(prediction, self.case_sensitive) == normalize_text(label, self.case_sensitive)
        self.total += 1
        self.correct += int(ok)
        self.unreadable += int(not readable)
        self.records.append((name, label, prediction, ok))
        return ok

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0
