"""Evaluation benchmarks in the layouts the reference CRNN reads.

* ``iiit5k``: ``annotation.txt`` with ``test/1002_1.png,PRIVATE`` lines (written by convert_iiit5k.py).
* ``ic03``: ``annotation.txt`` with ``<crop file>,<word>,`` lines (the reference convert_ic03.py output).
* ``ic13``: ``Challenge2_Test_Task3_GT.txt`` with ``word_1.png, "Tiredness"`` lines.
* ``svt``: a folder of crops named ``<image>_<j>_<word>.jpg`` (the reference convert_svt.py
  output), or an ``annotation.txt`` with ``<crop file>,<word>[,...]`` lines.

IC03 and IC13 follow the usual protocol (alphanumeric words of 3+ characters); the
excluded words are counted and reported, never silently dropped.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from typing import List, Tuple

from .source import SourceError, ListSource, protocol_filter, read_lines, require_dir

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def parse_comma_annotation(root: str, filename: str) -> List[Tuple[str, str]]:
    """``relative/path.png,label[,extra]`` lines -> (absolute path, label)."""
    entries = []
    path = os.path.join(root, filename)
    for lineno, line in enumerate(read_lines(path), 1):
        if "," not in line:
            raise SourceError(f"{path}:{lineno}: expected '<image>,<label>', got {line!r}")
        name, rest = line.split(",", 1)
        label = rest.split(",")[0] if rest.count(",") else rest
        entries.append((os.path.join(root, name.strip()), label.strip()))
    return entries


def parse_ic13(root: str, filename: str = "Challenge2_Test_Task3_GT.txt") -> List[Tuple[str, str]]:
    entries = []
    path = os.path.join(root, filename)
    for lineno, line in enumerate(read_lines(path), 1):
        m = re.match(r'^\ufeff?\s*([^,]+),\s*"(.*)"\s*$', line)
        if not m:
            raise SourceError(f"{path}:{lineno}: expected '<image>, \"<word>\"', got {line!r}")
        entries.append((os.path.join(root, m.group(1).strip()), m.group(2).replace('\\"', '"')))
    return entries


def parse_svt(root: str) -> List[Tuple[str, str]]:
    if os.path.isfile(os.path.join(root, "annotation.txt")):
        return parse_comma_annotation(root, "annotation.txt")
    names = sorted(n for n in os.listdir(root) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise SourceError(f"svt: no images and no annotation.txt in {root}")
    return [(os.path.join(root, n), os.path.splitext(n)[0].rsplit("_", 1)[-1]) for n in names]


class BenchmarkSource(ListSource):
    """One of iiit5k, ic03, ic13, svt (labels are not filtered by the alphabet: OOV words just count as errors)."""

    def __init__(self, name: str, root: str, filter_labels: bool = False, **kwargs) -> None:
        self.name = name
        require_dir(root, name)
        skips: Counter = Counter()
        if name == "iiit5k":
            entries = parse_comma_annotation(root, "annotation.txt")
        elif name == "ic03":
            entries = protocol_filter(parse_comma_annotation(root, "annotation.txt"), skips)
        elif name == "ic13":
            entries = protocol_filter(parse_ic13(root), skips)
        elif name == "svt":
            entries = parse_svt(root)
        else:
            raise SourceError(f"unknown benchmark {name!r}")
        super().__init__(entries, filter_labels=filter_labels, skips=skips, **kwargs)


def read_image_lexicons(root: str, size: str, keys: List[str]) -> List[List[str]]:
    """Per-image lexicons ``lexicon_<size>.txt`` (``<image>\t<word> <word> ...`` lines, written by
    ``convert_iiit5k.py --lexicons``), in the order of ``keys`` (absolute image paths)."""
    path = os.path.join(root, f"lexicon_{size}.txt")
    if not os.path.isfile(path):
        raise SourceError(f"{path} not found: write it with convert_iiit5k.py -m testdata.mat --lexicons")
    table = {}
    for line in read_lines(path):
        name, _, words = line.partition("\t")
        table[os.path.normpath(os.path.join(root, name))] = words.split()
    missing = [k for k in keys if os.path.normpath(k) not in table]
    if missing:
        raise SourceError(f"{path}: no lexicon for {len(missing)} images, e.g. {missing[:3]}")
    return [table[os.path.normpath(k)] for k in keys]
