"""Alphabet, label encoding/decoding, case folding and the label filter rules."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from .errors import UsageError

if TYPE_CHECKING:
    from .config import Config

# Reasons a label is rejected; used as keys of skip counters.
OOV = "label has characters outside the alphabet"
EMPTY = "empty label"
TOO_LONG = "label longer than max_text_length"
UNALIGNABLE = "label needs more CTC frames than the network emits"


class Charset:
    """Maps text to class indices; the CTC blank is the last class (``len(alphabet)``)."""

    def __init__(self, alphabet: str, case_sensitive: bool = False) -> None:
        if not alphabet:
            raise UsageError("alphabet is empty")
        if len(set(alphabet)) != len(alphabet):
            dup = sorted({c for c in alphabet if alphabet.count(c) > 1})
            raise UsageError(f"alphabet has repeated characters: {dup}")
        self.alphabet = alphabet
        self.case_sensitive = case_sensitive
        self.index = {c: i for i, c in enumerate(alphabet)}

    @classmethod
    def from_config(cls, cfg: Config) -> "Charset":
        alphabet = cfg.alphabet
        if cfg.alphabet_file:
            alphabet = read_alphabet_file(cfg.alphabet_file)
        return cls(alphabet, cfg.case_sensitive)

    @property
    def blank(self) -> int:
        return len(self.alphabet)

    @property
    def num_classes(self) -> int:
        return len(self.alphabet) + 1

    def normalize(self, text: str) -> str:
        """Case folding applied to every label before encoding."""
        return text if self.case_sensitive else text.lower()

    def check(self, text: str, max_length: int, num_frames: int) -> Optional[str]:
        """Return why ``text`` (already normalised) cannot be a training label, or None if it can."""
        if not text:
            return EMPTY
        if any(c not in self.index for c in text):
            return OOV
        if len(text) > max_length:
            return TOO_LONG
        if ctc_min_frames(text) > num_frames:
            return UNALIGNABLE
        return None

    def encode(self, text: str, length: int) -> np.ndarray:
        """Indices of ``text`` padded with the blank to ``length`` (characters outside the alphabet dropped)."""
        ids = [self.index[c] for c in text if c in self.index][:length]
        out = np.full(length, self.blank, dtype=np.int32)
        out[: len(ids)] = ids
        return out

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.alphabet[i] for i in ids if 0 <= i < len(self.alphabet))


def ctc_min_frames(text: str) -> int:
    """Frames CTC needs for ``text``: one per character plus a blank between each repeated pair."""
    return len(text) + sum(1 for a, b in zip(text, text[1:]) if a == b)


def read_alphabet_file(path: str) -> str:
    """One character per line (a line holding a single space is the space character)."""
    chars: List[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if len(line) == 1:
                chars.append(line)
            elif line.strip():
                raise UsageError(f"{os.path.basename(path)}: each line must hold one character, got {line!r}")
    return "".join(chars)
