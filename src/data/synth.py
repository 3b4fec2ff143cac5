"""MJSynth (Synth90k) in its two common layouts.

* The original folder (``90kDICT32px``): ``annotation_{train,val,test}.txt`` + ``lexicon.txt``.
  Lines look like ``./3000/6/501_UNIVERSAL_82748.jpg 82748``: the number is a 0-based line
  index into ``lexicon.txt``. Without a lexicon (or an index) the word is taken from the
  file name (``<n>_<word>_<index>.jpg``).
* The MMOCR preparation (the Syn90k root): ``label.txt`` / ``shuffle_labels.txt`` with lines
  ``mnt/ramdisk/max/90kDICT32px/1/2/3_word_4.jpg word`` (paths relative to the root), or
  ``label.lmdb`` holding the same lines under keys ``"0"``, ``"1"`` … and ``total_number``.
  Either the Syn90k root or its ``mnt/ramdisk/max/90kDICT32px`` folder may be given.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any, List, Optional, Tuple

from .source import ListSource, SourceError, read_lines, require_dir

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


MMOCR_SUFFIX = os.path.join("mnt", "ramdisk", "max", "90kDICT32px")
MMOCR_FILES = ("label.txt", "shuffle_labels.txt", "label.lmdb")


def _mmocr_root(path: str) -> Optional[str]:
    """The Syn90k root holding MMOCR annotations for ``path`` (itself or 4 levels up), if any."""
    norm = os.path.normpath(os.path.abspath(path))
    candidates = [norm]
    if norm.endswith(MMOCR_SUFFIX):
        candidates.append(norm[: -len(MMOCR_SUFFIX)].rstrip(os.sep))
    for root in candidates:
        if any(os.path.exists(os.path.join(root, f)) for f in MMOCR_FILES):
            return root
    return None


def _mmocr_lines(root: str) -> Tuple[str, List[str]]:
    for name in ("label.txt", "shuffle_labels.txt"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path, read_lines(path)
    path = os.path.join(root, "label.lmdb")
    import lmdb

    env = lmdb.open(path, readonly=True, lock=False, readahead=False, subdir=os.path.isdir(path))
    try:
        with env.begin() as txn:
            total = txn.get(b"total_number") or txn.get(b"num-samples")
            if total is None:
                raise SourceError(f"{path}: no 'total_number' key (not an MMOCR label.lmdb)")
            lines = []
            for i in range(int(total.decode())):
                value = txn.get(str(i).encode()) or txn.get(f"label-{i + 1:09d}".encode())
                if value is not None:
                    lines.append(value.decode("utf-8", errors="replace"))
    finally:
        env.close()
    return path, lines


def parse_mmocr(root: str, skips: Counter) -> List[Tuple[str, str]]:
    """(absolute image path, word) from the Syn90k root's MMOCR annotations."""
    path, lines = _mmocr_lines(root)
    entries = []
    for lineno, line in enumerate(lines, 1):
        parts = line.split(" ", 1)
        if len(parts) != 2 or not parts[1].strip():
            skips[BAD_LINE] += 1
            if skips[BAD_LINE] <= 5:
                log.warning("%s:%d: malformed line %r", path, lineno, line[:80])
            continue
        entries.append((os.path.join(root, parts[0]), parts[1].strip()))
    return entries


def parse_synth_folder(path: str, split: str, skips: Counter) -> List[Tuple[str, str]]:
    """Entries of an MJSynth folder in either layout (the original annotation files win)."""
    require_dir(path, "synth")
    if not os.path.isfile(os.path.join(path, SPLIT_FILES.get(split, ""))):
        root = _mmocr_root(path)
        if root is not None and split == "train":
            return parse_mmocr(root, skips)
    return parse_mjsynth(path, split, skips)


class MJSynthSource(ListSource):
    name = "synth"

    def __init__(self, root: str, split: str = "train", **kwargs: Any) -> None:
        skips: Counter = Counter()
        super().__init__(parse_synth_folder(root, split, skips), skips=skips, **kwargs)
