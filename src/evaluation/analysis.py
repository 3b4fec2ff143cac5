"""What a model gets wrong, in numbers: accuracy by label length, kind and case, character confusions from an
alignment of prediction and label, and the accuracy left when the least confident readings are rejected.

Everything here takes :class:`~src.evaluation.scoring.Prediction` lists and returns plain rows, so the report
page, a notebook or a test can use it alike.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .metrics import normalize_text
from .scoring import Prediction

#: accuracy targets whose confidence threshold the report gives (a deployment's "send the rest to a human")
COVERAGE_TARGETS = (0.95, 0.98, 0.99)


@dataclass(frozen=True)
class Group:
    """Accuracy of one group of samples (a label length, a kind of word ...)."""

    name: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def length_group(label: str) -> str:
    """Label length: 1 ... 11, then "12+"."""
    n = len(label)
    return "12+" if n >= 12 else str(n)


def label_kind(label: str) -> str:
    """letters, digits, letters+digits, or other (no letter or digit: punctuation only, empty)."""
    letters, digits = any(c.isalpha() for c in label), any(c.isdigit() for c in label)
    if letters and digits:
        return "letters+digits"
    return "letters" if letters else "digits" if digits else "other"


def label_repeat(label: str) -> str:
    """"doubled character" when two neighbouring characters are the same ("apple", "1100"), else "no doubled
    character": CTC reads a doubled character only with a blank frame between the two, so it is counted apart."""
    return "doubled character" if any(a == b for a, b in zip(label, label[1:])) else "no doubled character"


def label_case(raw_label: str) -> str:
    """The case of the label as written: lower, UPPER, Title, MiXed, or "no letters"."""
    letters = [c for c in raw_label if c.isalpha()]
    if not letters:
        return "no letters"
    if all(c.islower() for c in letters):
        return "lower"
    if all(c.isupper() for c in letters):
        return "UPPER"
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return "Title"
    return "MiXed"


def breakdown(predictions: Iterable[Prediction], key: Callable[[Prediction], str],
              order: Optional[Sequence[str]] = None) -> List[Group]:
    """Accuracy per value of ``key`` (in ``order``, else sorted naturally), empty groups left out."""
    counts: Dict[str, List[int]] = {}
    for p in predictions:
        c = counts.setdefault(key(p), [0, 0])
        c[0] += int(p.correct)
        c[1] += 1
    names = [n for n in order if n in counts] if order else sorted(counts, key=lambda s: (len(s), s))
    return [Group(n, *counts[n]) for n in names]


def edit_operations(label: str, prediction: str) -> List[Tuple[str, str, str]]:
    """A minimal alignment of ``prediction`` to ``label``: ("sub", a, b) for label char a read as b,
    ("ins", "", b) for an extra b, ("del", a, "") for a missed a. Matches are left out."""
    n, m = len(label), len(prediction)
    cost = np.zeros((n + 1, m + 1), np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (label[i - 1] != prediction[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    ops = []
    i, j = n, m
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (label[i - 1] != prediction[j - 1]):
            if label[i - 1] != prediction[j - 1]:
                ops.append(("sub", label[i - 1], prediction[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            ops.append(("del", label[i - 1], ""))
            i -= 1
        else:
            ops.append(("ins", "", prediction[j - 1]))
            j -= 1
    return ops[::-1]


def confusions(predictions: Iterable[Prediction], case_sensitive: bool = False,
               top: int = 20) -> List[Tuple[Tuple[str, str, str], int]]:
    """The most frequent edit operations over the wrong readings (protocol-normalised text), with counts."""
    counter: Counter = Counter()
    for p in predictions:
        if not p.correct and p.readable:
            counter.update(edit_operations(normalize_text(p.label, case_sensitive),
                                           normalize_text(p.text, case_sensitive)))
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def describe_operation(op: Tuple[str, str, str]) -> str:
    """``o→0``, ``+e`` (an extra e read), ``−e`` (an e missed)."""
    kind, a, b = op
    return f"{a}→{b}" if kind == "sub" else f"+{b}" if kind == "ins" else f"−{a}"


@dataclass(frozen=True)
class Coverage:
    """Accuracy of the kept readings when all but the most confident ``coverage`` share are rejected."""

    coverage: np.ndarray     # kept share, ascending from 1/N to 1
    accuracy: np.ndarray     # accuracy of the kept readings
    threshold: np.ndarray    # the confidence of the last kept reading

    def at_accuracy(self, target: float) -> Optional[Tuple[float, float]]:
        """(confidence threshold, coverage) keeping the most readings at ``target`` accuracy or better."""
        ok = np.flatnonzero(self.accuracy >= target)
        if not len(ok):
            return None
        k = ok[-1]
        return float(self.threshold[k]), float(self.coverage[k])


def coverage_curve(predictions: Sequence[Prediction]) -> Coverage:
    """Readings sorted by their weakest character's probability (most confident first), then accuracy of each
    prefix: what a deployment keeps when it sends the least confident to a human."""
    conf = np.array([p.min_char_prob for p in predictions], np.float64)
    correct = np.array([p.correct for p in predictions], np.float64)
    order = np.argsort(-conf, kind="stable")
    kept = np.arange(1, len(order) + 1)
    return Coverage(kept / max(len(order), 1), np.cumsum(correct[order]) / kept, conf[order])
