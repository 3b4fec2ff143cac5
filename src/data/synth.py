"""MJSynth (Synth90k) folder: ``annotation_{train,val,test}.txt`` + ``lexicon.txt``.

Annotation lines look like ``./3000/6/501_UNIVERSAL_82748.jpg 82748``: the number is
a 0-based line index into ``lexicon.txt``. Without a lexicon (or an index) the word
is taken from the file name (``<n>_<word>_<index>.jpg``).
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from typing import List, Optional, Tuple

from .source import SourceError, WordSource, read_lines, require_dir

log = logging.getLogger(__name__)

SPLIT_FILES = {"train": "annotation_train.txt", "val": "annotation_val.txt", "test": "annotation_test.txt"}
BAD_INDEX = "lexicon index out of range"
BAD_LINE = "malformed annotation line"


def word_from_filename(path: str) -> str:
    """``501_UNIVERSAL_82748.jpg`` -> ``UNIVERSAL``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    parts = stem.split("_")
    return "_".join(parts[1:-1]) if len(parts) >= 3 else ""


def parse_mjsynth(root: str, split: str, skips: Counter) -> List[Tuple[str, str]]:
    """(absolute image path, word) for every line of the split's annotation file."""
    require_dir(root, "synth")
    if split not in SPLIT_FILES:
        raise SourceError(f"synth: unknown split {split!r}")
    ann_path = os.path.join(root, SPLIT_FILES[split])
    lines = read_lines(ann_path)
    lex_path = os.path.join(root, "lexicon.txt")
    lexicon: Optional[List[str]] = None
    if os.path.isfile(lex_path):
        with open(lex_path, encoding="utf-8", errors="replace") as f:
            lexicon = [line.rstrip("\r\n") for line in f]
    entries: List[Tuple[str, str]] = []
    bad_examples: List[str] = []
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        rel = parts[0]
        word = None
        if lexicon is not None and len(parts) > 1:
            try:
                idx = int(parts[1])
            except ValueError:
                skips[BAD_LINE] += 1
                bad_examples.append(f"line {lineno}: index {parts[1]!r} is not a number")
                continue
            if not 0 <= idx < len(lexicon):
                skips[BAD_INDEX] += 1
                bad_examples.append(f"line {lineno}: index {idx} not in lexicon.txt ({len(lexicon)} words)")
                continue
            word = lexicon[idx]
        if word is None:
            word = word_from_filename(rel)
        path = os.path.normpath(os.path.join(root, rel))
        entries.append((path, word))
    if bad_examples:
        log.warning("%s: %d bad annotation lines, e.g. %s", ann_path, len(bad_examples), "; ".join(bad_examples[:5]))
    return entries


class MJSynthSource(WordSource):
    name = "synth"

    def __init__(self, root: str, split: str = "train", **kwargs) -> None:
        skips: Counter = Counter()
        super().__init__(parse_mjsynth(root, split, skips), skips=skips, **kwargs)
