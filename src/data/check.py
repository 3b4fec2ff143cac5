"""The dataset check: what a training run would make of a dataset, before the run.

    python -m src.data.check --train_dataset=list --train_dataset_path=my_crops/labels.tsv
    python -m src.data.check --train_dataset=lmdb --train_dataset_path=./lmdb_train --alphabet_file=chars.txt \\
        --write_alphabet=chars_found.txt --write_clean=clean.tsv

It takes the same dataset flags as ``train.py`` (every kind: list, LMDB, MJSynth, benchmarks, a mix),
reads every sample once and prints: counts per problem (unreadable or oversized image, image missing,
empty label, characters outside the alphabet — listed by frequency —, longer than ``max_text_length``,
needing more CTC frames than the width gives, duplicate image files), the distributions of label
length and aspect ratio, and suggestions: an alphabet covering the data (``--write_alphabet``), the
width and ``max_text_length`` that keep 99% of the samples, and a cleaned label list of the usable
samples (``--write_clean``). It exits non-zero when no usable sample remains.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from ..charset import EMPTY, OOV, TOO_LONG, UNALIGNABLE, Charset, ctc_min_frames
from ..config import Config
from ..model import sequence_length
from .benchmarks import BenchmarkSource
from .source import DUPLICATE, MissingSample, WordSource
from .transforms import ImageError, ImageTooLarge, decode_bgr

#: problems a sample can have, in the order the report lists them
UNREADABLE = "image unreadable or corrupt"
MISSING = "image file missing"
NO_KEY = "sample missing from the database"
TOO_LARGE = "image above the pixel limit"
DUPLICATE_IMAGE = "duplicate image file (same bytes as an earlier sample)"
PROBLEMS = (MISSING, NO_KEY, UNREADABLE, TOO_LARGE, EMPTY, OOV, TOO_LONG, UNALIGNABLE, DUPLICATE_IMAGE)
#: the share of samples the suggested width and max_text_length keep
KEEP = 0.99
#: images at least this many times taller than wide are counted as tall (vertical or rotated words)
TALL = 1.5


@dataclass
class DatasetReport:
    """What :func:`check_source` found in one or more sources."""

    total: int = 0
    problems: Counter = field(default_factory=Counter)
    oov_chars: Counter = field(default_factory=Counter)
    characters: Counter = field(default_factory=Counter)
    lengths: List[int] = field(default_factory=list)           # of every non-empty label
    frames: List[int] = field(default_factory=list)            # CTC frames each non-empty label needs
    aspects: List[float] = field(default_factory=list)         # width / height of every readable image
    usable: List[Tuple[str, str]] = field(default_factory=list)  # (key, label) of the samples a run would train on
    stripped: int = 0      # benchmark train labels whose characters outside the alphabet training removes

    @property
    def num_usable(self) -> int:
        return len(self.usable)


def check_source(source: WordSource, report: DatasetReport, max_pixels: int, progress: bool = True) -> None:
    """Read every sample of ``source`` (built without label filtering) into ``report``; a sample with
    several problems counts under each."""
    charset, max_length, num_frames = source.charset, source.max_text_length, source.num_frames
    report.problems[DUPLICATE] += source.skips.get(DUPLICATE, 0)   # keys listed twice, dropped at start-up
    report.total += source.skips.get(DUPLICATE, 0)
    strips = isinstance(source, BenchmarkSource)   # training strips outside characters from real crops' labels
    seen: Dict[bytes, str] = {}
    for i in tqdm(range(len(source)), desc=f"checking {source.name}", unit="img", disable=not progress or None,
                  mininterval=1.0):
        report.total += 1
        key = source.key(i)
        try:
            label = charset.normalize(source.raw_label(i))
        except MissingSample:
            report.problems[NO_KEY] += 1
            continue
        problem, label = label_problem(label, charset, max_length, num_frames, report, strips)
        problems = [problem]
        try:
            data = sample_bytes(source, i)
        except MissingSample:
            problems.append(NO_KEY)
        except FileNotFoundError:
            problems.append(MISSING)
        except OSError:
            problems.append(UNREADABLE)
        else:
            image_problem, aspect = read_image(data, max_pixels)
            if aspect is not None:
                report.aspects.append(aspect)
            digest = hashlib.sha1(data).digest()
            problems += [image_problem, DUPLICATE_IMAGE if digest in seen else None]
            seen.setdefault(digest, key)
        found = [p for p in problems if p]
        report.problems.update(found)
        if not found:
            report.usable.append((key, label))


def sample_bytes(source: WordSource, index: int) -> bytes:
    """The encoded image of a sample: the file or record, or for a source that makes its images (the
    renderer) the image it makes, PNG-encoded."""
    if type(source).load_image is not WordSource.load_image:
        ok, encoded = cv2.imencode(".png", source.load_image(index))
        if not ok:
            raise OSError("the image could not be encoded")
        return encoded.tobytes()
    return source.read_bytes(index)


def label_problem(label: str, charset: Charset, max_length: int, num_frames: int, report: DatasetReport,
                  strips: bool = False) -> Tuple[Optional[str], str]:
    """Record the label's statistics; return why a run would skip it (the charset's rule; None: it would
    train on it) and the label it would train on: with ``strips`` (real crops: label lists, benchmark train
    splits) training removes the characters outside the alphabet instead of skipping the label."""
    outside = [c for c in label if c not in charset.index]
    report.characters.update(label)
    report.oov_chars.update(outside)
    if strips and outside:
        report.stripped += 1
        label = "".join(c for c in label if c in charset.index)
    if label:
        report.lengths.append(len(label))
        report.frames.append(ctc_min_frames(label))
    return charset.check(label, max_length, num_frames), label


def read_image(data: bytes, max_pixels: int) -> Tuple[Optional[str], Optional[float]]:
    """(problem or None, width/height or None), from :func:`decode_bgr` (which refuses an image whose header
    says it is above ``max_pixels`` before decoding)."""
    try:
        img = decode_bgr(data, max_pixels)
    except ImageTooLarge as err:
        return TOO_LARGE, err.size[0] / max(1, err.size[1])
    except (ImageError, ValueError, OSError):
        return UNREADABLE, None
    return None, img.shape[1] / max(1, img.shape[0])


# ---------------------------------------------------------------------- report text

def histogram(values: Sequence[float], edges: Sequence[float], integer: bool = False, width: int = 40) -> List[str]:
    """Text bars of ``values`` binned by ``edges`` (the last bin open-ended; empty bins past the last
    value left out). ``integer`` bins are named by their first and last value (``4-5``)."""
    if not len(values):
        return ["  (none)"]
    arr = np.asarray(values, dtype=np.float64)
    bins = list(zip(edges, list(edges[1:]) + [math.inf]))
    counts = [int(((arr >= lo) & (arr < hi)).sum()) for lo, hi in bins]
    last = max(i for i, n in enumerate(counts) if n) if any(counts) else 0
    top = max(counts) or 1
    lines = []
    for (lo, hi), n in list(zip(bins, counts))[:last + 1]:
        if hi == math.inf:
            name = f"{lo:g}+"
        elif integer:
            name = f"{lo:g}" if hi - lo == 1 else f"{lo:g}-{hi - 1:g}"
        else:
            name = f"{lo:g}-{hi:g}"
        lines.append(f"  {name:>9} {n:>8} {'#' * (max(1, round(width * n / top)) if n else 0)}")
    return lines


def suggestions(report: DatasetReport, height: int) -> Dict[str, int]:
    """The ``image_width`` and ``max_text_length`` that keep ``KEEP`` of the labelled samples."""
    if not report.lengths:
        return {}
    frames = int(np.ceil(np.quantile(report.frames, KEEP, method="higher")))
    length = int(np.ceil(np.quantile(report.lengths, KEEP, method="higher")))
    width = 4 * (max(frames, length) + 1)   # width/4 - 1 frames
    out = {"image_width": max(width, 8), "max_text_length": length}
    if report.aspects:
        out["aspect_width"] = int(4 * math.ceil(np.quantile(report.aspects, KEEP, method="higher") * height / 4))
    return out


def format_report(report: DatasetReport, charset: Charset, max_length: int, image_size: Tuple[int, int],
                  max_pixels: int) -> str:
    height, width = image_size
    lines = [f"samples: {report.total}, usable: {report.num_usable} "
             f"({100 * report.num_usable / max(1, report.total):.1f}%) for alphabet {len(charset.alphabet)} "
             f"characters, max_text_length {max_length}, width {width} ({sequence_length(width)} CTC frames)"]
    lines.append("problems:" if any(report.problems.values()) else "problems: none")
    for name in (DUPLICATE,) + PROBLEMS:
        n = report.problems.get(name, 0)
        if n:
            extra = f" (> {max_pixels:,} pixels, read from the header)" if name == TOO_LARGE else ""
            lines.append(f"  {n:>8}  {name}{extra}")
    if report.stripped:
        lines.append(f"  {report.stripped:>8}  labels lose their characters outside the alphabet (training strips them "
                     f"from real crops' labels, 'JOINT.' -> 'joint'; --write_alphabet keeps them)")
    if report.oov_chars:
        shown = ", ".join(f"{c!r} x{n}" for c, n in report.oov_chars.most_common(30))
        more = len(report.oov_chars) - 30
        lines.append(f"characters outside the alphabet, by frequency: {shown}" + (f" and {more} more" if more > 0
                                                                                    else ""))
    lines.append("label length (characters):")
    lines += histogram(report.lengths, [1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 24, 32, 48, 64], integer=True)
    lines.append(f"aspect ratio (width / height; {width}/{height} = {width / height:.1f} fills the input):")
    lines += histogram(report.aspects, [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20])
    hint = suggestions(report, height)
    if hint:
        lines.append(f"suggestions (keep {KEEP:.0%} of the labelled samples):")
        lines.append(f"  --max_text_length={hint['max_text_length']} --image_width={hint['image_width']}"
                     f" (CTC frames for 99% of the labels, doubled letters counted)")
        if "aspect_width" in hint:
            lines.append(f"  at height {height} 99% of the images are at most {hint['aspect_width']} px wide: "
                         f"with --keep_aspect_ratio=True, --image_width={max(hint['aspect_width'], hint['image_width'])}"
                         f" pads rather than squeezes them")
        tall = sum(aspect <= 1 / TALL for aspect in report.aspects)
        if tall:
            lines.append(f"  {tall} of {len(report.aspects)} images ({100 * tall / len(report.aspects):.1f}%) are at "
                         f"least {TALL:g} times taller than wide (vertical or rotated words, stretched flat by "
                         f"training): read them with --turn_tall={TALL:g} in eval.py and infer.py")
        missing = sorted(set(report.characters) - set(charset.alphabet))
        if missing:
            lines.append(f"  the data uses {len(report.characters)} characters, {len(missing)} of them outside the "
                         f"alphabet: --write_alphabet=FILE writes all of them, then train with --alphabet_file=FILE")
    return "\n".join(lines)


def label_length_line(labels: Sequence[str], max_length: int, num_frames: int) -> str:
    """One log line on the label lengths a run trains on, and the CTC frames they need."""
    if not labels:
        return "labels: none"
    lengths = np.array([len(t) for t in labels])
    frames = np.array([ctc_min_frames(t) for t in labels])
    return (f"labels: length median {int(np.median(lengths))}, 99% <= {int(np.quantile(lengths, KEEP, method='higher'))}"
            f", max {lengths.max()} (max_text_length {max_length}); CTC frames 99% <= "
            f"{int(np.quantile(frames, KEEP, method='higher'))} of {num_frames}")


def write_alphabet(report: DatasetReport, path: str) -> None:
    """One character per line, sorted: every character the (case-folded) labels use."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{c}\n" for c in sorted(report.characters)))


def write_clean(report: DatasetReport, path: str) -> None:
    """The usable samples as a label list (``image<TAB>label``) that ``--train_dataset=list`` reads."""
    import os

    with open(path, "w", encoding="utf-8") as f:
        for key, label in report.usable:
            f.write(f"{os.path.abspath(key)}\t{label}\n")


# ---------------------------------------------------------------------- entry point

def run(cfg: Config, charset: Charset, progress: bool = True) -> DatasetReport:
    """Check every dataset ``cfg`` trains on (each part of a mix) into one report."""
    from .pipeline import SourceOptions, build_source, split_names

    options = SourceOptions.from_config(cfg)
    names = split_names(cfg.train_dataset)
    paths = split_names(cfg.train_dataset_path) if len(names) > 1 else [cfg.train_dataset_path]
    if len(paths) != len(names):
        from .source import SourceError
        raise SourceError(f"train_dataset names {len(names)} datasets but train_dataset_path has {len(paths)} "
                          f"comma-separated entries")
    report = DatasetReport()
    for name, path in zip(names, paths):
        source = build_source(name, path, charset, options, training=True, filter_labels=False)
        check_source(source, report, cfg.max_image_pixels, progress)
    return report


def main(argv: Optional[Iterable[str]] = None) -> int:
    from ..config import ConfigError, load_config
    from ..errors import CrnnError

    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--write_alphabet", default="")
    pre.add_argument("--write_clean", default="")
    extra, rest = pre.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    try:
        cfg = load_config(rest, "Check a training dataset (same flags as train.py, plus --write_alphabet=FILE "
                                "and --write_clean=FILE)")
        charset = Charset.from_config(cfg)
        report = run(cfg, charset)
    except (ConfigError, CrnnError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_report(report, charset, cfg.max_text_length, (cfg.image_height, cfg.image_width),
                        cfg.max_image_pixels))
    if extra.write_alphabet:
        write_alphabet(report, extra.write_alphabet)
        print(f"alphabet of {len(report.characters)} characters written to {extra.write_alphabet}")
    if extra.write_clean:
        write_clean(report, extra.write_clean)
        print(f"{report.num_usable} usable samples written to {extra.write_clean} (--train_dataset=list)")
    if not report.num_usable:
        print("error: no usable sample: see the problems above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
