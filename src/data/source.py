"""Random-access word-image sources: the common base of every dataset reader.

A source maps an index to an image resized to the network size plus the encoded
label; labels the model cannot learn are filtered and counted by reason. An image that cannot be read never raises: it becomes
a black placeholder with a non-zero ``status`` so the batch keeps its shape, the loss
ignores it and evaluation counts it as an error.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import CrnnError
from ..charset import EMPTY, OOV, TOO_LONG, UNALIGNABLE, Charset
from .transforms import ImageError, decode_bgr, resize

log = logging.getLogger(__name__)

STATUS_OK = 0
STATUS_MISSING = 1
STATUS_UNREADABLE = 2
STATUS_NO_KEY = 3
_LABEL_STATUS = {OOV: 4, EMPTY: 5, TOO_LONG: 6, UNALIGNABLE: 7}
STATUS_REASONS = {STATUS_MISSING: "image file missing", STATUS_UNREADABLE: "image unreadable or corrupt",
                  STATUS_NO_KEY: "sample missing from the database",
                  **{code: reason for reason, code in _LABEL_STATUS.items()}}
DUPLICATE = "duplicate entry"

COLUMNS = ["image", "label", "label_length", "status", "index"]


class SourceError(CrnnError, ValueError):
    """A dataset path or annotation file is missing or malformed."""


class MissingSample(KeyError):
    """A sample's record is absent (e.g. an LMDB key)."""


class WordSource:
    """Base of every reader: random access to (image, label) by index.

    Subclasses implement ``__len__``, :meth:`key`, :meth:`raw_label` and :meth:`read_bytes`
    (or :meth:`load_image`). With ``filter_labels`` a label the model cannot learn turns the
    sample into a placeholder with the reason as its status (readers that know their labels
    up front filter them at start-up instead, see :class:`ListSource`).
    """

    name = "words"

    def __init__(self, charset: Charset, image_size: Tuple[int, int], max_text_length: int, num_frames: int,
                 filter_labels: bool = True, skips: Optional[Counter] = None, interpolation: str = "bilinear",
                 keep_aspect_ratio: bool = False) -> None:
        self.charset = charset
        self.image_size = image_size
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        self.max_text_length = max_text_length
        self.num_frames = num_frames
        self.filter_labels = filter_labels
        self.skips: Counter = skips if skips is not None else Counter()
        #: characters outside the alphabet in the labels filtered out, by frequency (sources that filter up front)
        self.outside: Counter = Counter()

    # ---------------------------------------------------------------- subclass hooks
    def __len__(self) -> int:
        raise NotImplementedError

    def key(self, index: int) -> str:
        """A human-readable name of sample ``index`` (file path, database key …)."""
        raise NotImplementedError

    def raw_label(self, index: int) -> str:
        raise NotImplementedError

    def read_bytes(self, index: int) -> bytes:
        """Encoded image bytes of sample ``index`` (default: the key is a file path)."""
        with open(self.key(index), "rb") as f:
            return f.read()

    def load_image(self, index: int) -> np.ndarray:
        """BGR uint8 image of any size (raise OSError/ImageError when it cannot be read)."""
        return decode_bgr(self.read_bytes(index))

    # ---------------------------------------------------------------- access
    def label(self, index: int) -> str:
        """The case-folded label of sample ``index``."""
        return self.charset.normalize(self.raw_label(index))

    def label_problem(self, text: str) -> Optional[str]:
        if not self.filter_labels:
            return None
        return self.charset.check(text, self.max_text_length, self.num_frames)

    def __getitem__(self, index: int):
        index = int(index)
        status, text = STATUS_OK, ""
        try:
            text = self.label(index)
            problem = self.label_problem(text)
            if problem:
                status = _LABEL_STATUS[problem]
            else:
                image = resize(self.load_image(index), self.image_size, self.interpolation, self.keep_aspect_ratio)
        except MissingSample:
            status = STATUS_NO_KEY
        except FileNotFoundError:
            status = STATUS_MISSING
        except (OSError, ImageError, ValueError):
            status = STATUS_UNREADABLE
        if status != STATUS_OK:
            image = np.zeros((*self.image_size, 3), np.uint8)
        label = self.charset.encode(text, self.max_text_length)
        length = np.int32(min(len(text), self.max_text_length))
        return image, label, length, np.int32(status), np.int32(index)

    def describe_skips(self) -> str:
        return ", ".join(f"{n} {reason}" for reason, n in self.skips.most_common())

    def summary(self) -> str:
        total = len(self) + sum(self.skips.values())
        text = f"{self.name}: {len(self)} of {total} samples kept"
        skipped = self.describe_skips()
        if self.outside:
            chars = ", ".join(f"{c!r} x{n}" for c, n in self.outside.most_common(12))
            skipped += f"; characters outside the alphabet: {chars} (python -m src.data.check lists every problem)"
        return f"{text} (skipped: {skipped})" if skipped else text


class ListSource(WordSource):
    """A source whose (key, label) entries are known up front: labels are filtered once at start-up."""

    def __init__(self, entries: Iterable[Tuple[str, str]], charset: Charset, image_size: Tuple[int, int],
                 max_text_length: int, num_frames: int, filter_labels: bool = True,
                 skips: Optional[Counter] = None, interpolation: str = "bilinear", keep_aspect_ratio: bool = False) -> None:
        super().__init__(charset, image_size, max_text_length, num_frames, filter_labels, skips, interpolation,
                         keep_aspect_ratio)
        self.keys: List[str] = []
        self.labels: List[str] = []
        seen = set()
        for key, raw in entries:
            if key in seen:
                self.skips[DUPLICATE] += 1
                continue
            seen.add(key)
            text = charset.normalize(raw)
            reason = self.label_problem(text)
            if reason:
                self.skips[reason] += 1
                if reason == OOV:
                    self.outside.update(c for c in text if c not in charset.index)
                continue
            self.keys.append(key)
            self.labels.append(text)
        if not self.keys:
            raise SourceError(f"{self.name}: no usable samples ({self.describe_skips() or 'the annotation is empty'})")
        self.filter_labels = False  # already done

    def __len__(self) -> int:
        return len(self.keys)

    def key(self, index: int) -> str:
        return self.keys[index]

    def raw_label(self, index: int) -> str:
        return self.labels[index]

    def label(self, index: int) -> str:
        return self.labels[index]


def read_lines(path: str) -> List[str]:
    """Non-empty lines of a text annotation file (utf-8, undecodable bytes replaced)."""
    if not os.path.isfile(path):
        raise SourceError(f"annotation file not found: {path}")
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise SourceError(f"annotation file is empty: {path}")
    return lines


def require_dir(path: str, what: str) -> str:
    if not path:
        raise SourceError(f"{what}: no dataset path given")
    if not os.path.isdir(path):
        raise SourceError(f"{what}: dataset directory not found: {path}")
    return path


def protocol_filter(entries: Sequence[Tuple[str, str]], skips: Counter, min_length: int = 3) -> List[Tuple[str, str]]:
    """IC03/IC13 evaluation protocol: keep alphanumeric words of at least ``min_length`` characters."""
    kept = []
    for key, label in entries:
        if len(label) < min_length or not label.isascii() or not label.isalnum():
            skips[f"excluded by protocol (non-alphanumeric or < {min_length} characters)"] += 1
        else:
            kept.append((key, label))
    return kept
