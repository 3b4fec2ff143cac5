"""Evaluation benchmarks in the layouts the reference CRNN reads.

* ``iiit5k``: ``annotation.txt`` with ``test/1002_1.png,PRIVATE`` lines (written by convert_iiit5k.py).
* ``ic03``: ``annotation.txt`` with ``<crop file>,<word>,`` lines (the reference convert_ic03.py output).
* ``ic13``: ``Challenge2_Test_Task3_GT.txt`` (or the reference's name ``gt.txt``) with
  ``word_1.png, "Tiredness"`` lines; images beside it or in ``Challenge2_Test_Task3_Images/``.
* ``ic15``: ``Challenge4_Test_Task3_GT.txt`` + ``ch4_test_word_images_gt/`` (test) or
  ``ch4_training_word_images_gt/gt.txt`` (train; chosen when training). Same line format,
  UTF-8 BOM, CRLF, ``\"`` escapes a quote.
* ``svt``: a folder of crops named ``<image>_<j>_<word>.jpg`` (the reference convert_svt.py
  output), or an ``annotation.txt`` with ``<crop file>,<word>[,...]`` lines; a root holding
  ``test/`` and ``train/`` crop folders picks ``test/`` (evaluation) or ``train/`` (training).
* ``list``: a label file of ``image_path<TAB>label`` lines, paths relative to the file's
  folder (the PaddleOCR convention); a folder holding ``labels.tsv`` is read the same way.

IC03 follows the usual protocol (alphanumeric words of 3+ characters); IC13 is scored on its
1015 alphanumeric words and reported on the 857 of 3+ characters too (``subsets``). Excluded
words are counted and reported, never silently dropped.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .iiit5k_mat import MatFormatError, read_iiit5k_mat
from .source import ListSource, SourceError, WordSource, protocol_filter, read_lines, require_dir

#: where this project's machines keep the real benchmark crops (never committed; tests skip without it)
SHARED_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "..", "shared", "data")
SHARED_IIIT5K = os.path.join(SHARED_DATA, "IIIT5K")

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


def _first_existing(root: str, names: Sequence[str], what: str) -> str:
    for name in names:
        if os.path.exists(os.path.join(root, name)):
            return os.path.join(root, name)
    raise SourceError(f"{what}: none of {list(names)} found in {root}")


def parse_icdar_gt(gt_path: str, image_dir: str) -> List[Tuple[str, str]]:
    """ICDAR word-recognition ground truth: ``word_1.png, "JOINT"`` lines (BOM, CRLF, ``\\"`` quote)."""
    entries = []
    for lineno, line in enumerate(read_lines(gt_path), 1):
        m = re.match(r'^\ufeff?\s*([^,]+),\s*"(.*)"\s*$', line)
        if not m:
            raise SourceError(f"{gt_path}:{lineno}: expected '<image>, \"<word>\"', got {line!r}")
        entries.append((os.path.join(image_dir, m.group(1).strip()), m.group(2).replace('\\"', '"')))
    return entries


def parse_ic13(root: str) -> List[Tuple[str, str]]:
    gt = _first_existing(root, ("Challenge2_Test_Task3_GT.txt", "gt.txt"), "ic13")
    images = os.path.join(root, "Challenge2_Test_Task3_Images")
    return parse_icdar_gt(gt, images if os.path.isdir(images) else root)


def parse_ic15(root: str, training: bool) -> List[Tuple[str, str]]:
    if training:
        folder = _first_existing(root, ("ch4_training_word_images_gt", "."), "ic15 (train)")
        return parse_icdar_gt(_first_existing(folder, ("gt.txt",), "ic15 (train)"), folder)
    gt = _first_existing(root, ("Challenge4_Test_Task3_GT.txt", "gt.txt"), "ic15")
    images = os.path.join(root, "ch4_test_word_images_gt")
    return parse_icdar_gt(gt, images if os.path.isdir(images) else root)


def parse_iiit5k(root: str, training: bool = False) -> List[Tuple[str, str]]:
    """``annotation.txt`` (convert_iiit5k.py output) or, when absent, the official ``testdata.mat``
    (``traindata.mat`` when training) read directly."""
    if os.path.isfile(os.path.join(root, "annotation.txt")):
        return parse_comma_annotation(root, "annotation.txt")
    mat = os.path.join(root, "traindata.mat" if training else "testdata.mat")
    if not os.path.isfile(mat):
        raise SourceError(f"iiit5k: neither annotation.txt nor {os.path.basename(mat)} in {root}")
    entries, _, _ = _read_mat(mat)
    return [(os.path.join(root, name), label) for name, label in entries]


def _read_mat(path: str):
    """:func:`read_iiit5k_mat` with its format error reported as a dataset error."""
    try:
        return read_iiit5k_mat(path)
    except MatFormatError as err:
        raise SourceError(str(err)) from err


def parse_label_list(path: str) -> List[Tuple[str, str]]:
    """``image_path<TAB>label`` lines, paths relative to the file's folder (a folder: its labels.tsv)."""
    if os.path.isdir(path):
        path = os.path.join(path, "labels.tsv")
    root = os.path.dirname(os.path.abspath(path))
    entries = []
    for lineno, line in enumerate(read_lines(path), 1):
        name, tab, label = line.lstrip("\ufeff").partition("\t")
        if not tab or not name.strip():
            raise SourceError(f"{path}:{lineno}: expected '<image path><TAB><label>', got {line!r}")
        entries.append((os.path.join(root, name.strip()), label))
    return entries


def parse_svt(root: str, training: bool = False) -> List[Tuple[str, str]]:
    split = os.path.join(root, "train" if training else "test")
    if os.path.isdir(split) and not os.path.isfile(os.path.join(root, "annotation.txt")):
        root = split
    if os.path.isfile(os.path.join(root, "annotation.txt")):
        return parse_comma_annotation(root, "annotation.txt")
    names = sorted(n for n in os.listdir(root) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise SourceError(f"svt: no images and no annotation.txt in {root}")
    return [(os.path.join(root, n), os.path.splitext(n)[0].rsplit("_", 1)[-1]) for n in names]


def read_benchmark(name: str, root: str, training: bool, skips: Counter) -> List[Tuple[str, str]]:
    """(image path, raw label) entries of benchmark ``name`` at ``root``, protocol filters applied."""
    if name == "list":
        if not os.path.exists(root):
            raise SourceError(f"list: label file not found: {root}")
        return parse_label_list(root)
    require_dir(root, name)
    if name == "iiit5k":
        return parse_iiit5k(root, training)
    if name == "ic03":
        return protocol_filter(parse_comma_annotation(root, "annotation.txt"), skips)
    if name == "ic13":
        entries = parse_ic13(root)
        return entries if training else protocol_filter(entries, skips, min_length=1)
    if name == "ic15":
        return parse_ic15(root, training)
    if name == "svt":
        return parse_svt(root, training)
    raise SourceError(f"unknown benchmark {name!r}")


class BenchmarkSource(ListSource):
    """One of iiit5k, ic03, ic13, ic15, svt or a label list.

    Evaluation keeps every label (OOV words just count as errors). Training (``training``, by default
    ``filter_labels``) reads the train split and removes the characters outside the alphabet from real
    labels (``"JOINT."`` -> ``"joint"``, the protocol compares only the alphabet anyway; counted in
    ``stripped``; ``strip_labels=False`` keeps them, for the dataset check); ``filter_labels`` then skips
    the labels the model still cannot learn.
    """

    def __init__(self, name: str, root: str, filter_labels: bool = False, training: Optional[bool] = None,
                 strip_labels: Optional[bool] = None, **kwargs: Any) -> None:
        self.name = name
        training = filter_labels if training is None else training
        strip_labels = training if strip_labels is None else strip_labels
        skips: Counter = Counter()
        entries = read_benchmark(name, root, training, skips)
        charset = kwargs["charset"]
        self.stripped = 0
        if strip_labels:
            cleaned = []
            for key, label in entries:
                folded = charset.normalize(label)
                kept = "".join(c for c in folded if c in charset.alphabet)
                self.stripped += int(kept != folded)
                cleaned.append((key, kept))
            entries = cleaned
        super().__init__(entries, filter_labels=filter_labels, skips=skips, **kwargs)
        #: named subsets reported beside the whole set (IC13: the 857 words of 3+ characters)
        self.subsets: Dict[str, List[bool]] = {}
        if name == "ic13" and not training:
            self.subsets["ic13_857"] = [len(label) >= 3 for label in self.labels]

    def summary(self) -> str:
        text = super().summary()
        return f"{text}; {self.stripped} labels lost characters outside the alphabet" if self.stripped else text


def write_label_list(source: WordSource, path: str) -> None:
    """Write ``source`` as a label list (absolute image paths) that ``--eval_dataset=list`` reads back."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(len(source)):
            f.write(f"{os.path.abspath(source.key(i))}\t{source.label(i)}\n")


def read_image_lexicons(root: str, size: str, keys: List[str]) -> List[List[str]]:
    """Per-image lexicons in the order of ``keys`` (absolute image paths): ``lexicon_<size>.txt``
    (``<image>\t<word> <word> ...`` lines, written by ``convert_iiit5k.py --lexicons``) or, when
    absent, the ``smallLexi``/``mediumLexi`` fields of IIIT5K's ``testdata.mat``."""
    path = os.path.join(root, f"lexicon_{size}.txt")
    mat = os.path.join(root, "testdata.mat")
    table = {}
    if os.path.isfile(path):
        for line in read_lines(path):
            name, _, words = line.partition("\t")
            table[os.path.normpath(os.path.join(root, name))] = words.split()
    elif os.path.isfile(mat):
        entries, small, medium = _read_mat(mat)
        lexicons = small if size == "small" else medium
        if lexicons is None:
            raise SourceError(f"{mat} has no {size} lexicons")
        table = {os.path.normpath(os.path.join(root, name)): words for (name, _), words in zip(entries, lexicons)}
        path = mat
    else:
        raise SourceError(f"{path} not found: write it with convert_iiit5k.py -m testdata.mat --lexicons")
    missing = [k for k in keys if os.path.normpath(k) not in table]
    if missing:
        raise SourceError(f"{path}: no lexicon for {len(missing)} images, e.g. {missing[:3]}")
    return [table[os.path.normpath(k)] for k in keys]
