"""Write an image+label LMDB from a folder dataset.

    python -m src.data.create_lmdb --input ./Syn90k/mnt/ramdisk/max/90kDICT32px --output ./lmdb/mjsynth
    python -m src.data.create_lmdb --input ./IIIT5K --format iiit5k --output ./lmdb/IIIT5K_3000
    python -m src.data.create_lmdb --input list.txt --output ./lmdb/mine    # "path label" or "path,label" lines

Inputs: an MJSynth folder (annotation_train.txt + lexicon.txt), a Syn90k root in the
MMOCR layout (label.txt / shuffle_labels.txt / label.lmdb), an IIIT5K folder with
annotation.txt, or a plain list file. Each image is decoded once; unreadable ones are
skipped and listed in ``<output>/skipped.txt``. The LMDB is built in ``<output>.partial``
and renamed when complete, so an interrupted run never leaves a half-written database
and rerunning is safe. The map size grows automatically.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import lmdb
from tqdm import tqdm

from ..charset import EMPTY, TOO_LONG, Charset, ctc_min_frames
from ..config import add_bool_flag
from .benchmarks import parse_comma_annotation
from .source import SourceError, read_lines
from .synth import parse_synth_folder
from .transforms import ImageError, decode_bgr

Item = Tuple[str, Optional[bytes], str]  # (name, encoded image or None to read the file, label)


def parse_list_file(path: str) -> List[Tuple[str, str]]:
    """``path label`` or ``path,label`` lines; relative paths are relative to the list file."""
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    for lineno, line in enumerate(read_lines(path), 1):
        sep = "," if "," in line and (" " not in line or line.index(",") < line.index(" ")) else None
        parts = line.split(sep, 1) if sep else line.split(None, 1)
        if len(parts) != 2:
            raise SourceError(f"{path}:{lineno}: expected '<image> <label>' or '<image>,<label>', got {line!r}")
        entries.append((os.path.join(base, parts[0].strip()), parts[1].strip()))
    return entries


def entries_for(input_path: str, fmt: str) -> List[Tuple[str, str]]:
    if fmt == "auto":
        if os.path.isfile(input_path):
            fmt = "list"
        elif os.path.isfile(os.path.join(input_path, "annotation.txt")):
            fmt = "iiit5k"
        else:
            fmt = "synth"
    skips: Counter = Counter()
    if fmt == "list":
        return parse_list_file(input_path)
    if fmt == "iiit5k":
        return parse_comma_annotation(input_path, "annotation.txt")
    return parse_synth_folder(input_path, "train", skips)


class LmdbWriter:
    """Append samples to a new image+label LMDB; grows the map when full; commits in chunks."""

    def __init__(self, output: str, map_size: int = 1 << 30, commit_every: int = 1000) -> None:
        self.output = output
        self.partial = output.rstrip("/") + ".partial"
        shutil.rmtree(self.partial, ignore_errors=True)
        os.makedirs(self.partial)
        self.env = lmdb.open(self.partial, map_size=map_size)
        self.buffer: List[Tuple[bytes, bytes]] = []
        self.count = 0
        self.commit_every = commit_every

    def add(self, image: bytes, label: str) -> None:
        self.count += 1
        self.buffer.append((f"image-{self.count:09d}".encode(), image))
        self.buffer.append((f"label-{self.count:09d}".encode(), label.encode("utf-8")))
        if len(self.buffer) >= 2 * self.commit_every:
            self._flush()

    def _flush(self, extra: Sequence[Tuple[bytes, bytes]] = ()) -> None:
        items = self.buffer + list(extra)
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for k, v in items:
                        txn.put(k, v)
                break
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)
        self.buffer = []

    def close(self) -> None:
        """Write the count, then move ``<output>.partial`` into place."""
        self._flush([(b"num-samples", str(self.count).encode())])
        self.env.close()
        shutil.rmtree(self.output, ignore_errors=True)
        os.replace(self.partial, self.output)


def label_problem(label: str, charset: Optional[Charset], max_length: int = 0) -> Optional[str]:
    """Why ``label`` is not written (the charset's own rules and reasons), or None.

    Without a charset only emptiness and ``max_length`` (0: any length) are checked; the CTC
    frame count depends on the image width of the model that reads the LMDB, so it is
    checked when training reads it, not here.
    """
    text = charset.normalize(label) if charset is not None else label
    limit = max_length or max(len(text), 1)
    if charset is None:
        return EMPTY if not text else TOO_LONG if len(text) > limit else None
    return charset.check(text, limit, num_frames=ctc_min_frames(text))


def write_lmdb(output: str, items: Iterable[Item], total: Optional[int] = None, charset: Optional[Charset] = None,
               max_length: int = 0, map_size: int = 1 << 30) -> Tuple[int, Counter, List[str]]:
    """Validate and write ``items``; return (written, skip counts by reason, skipped names)."""
    writer = LmdbWriter(output, map_size)
    skips: Counter = Counter()
    skipped: List[str] = []
    for name, data, label in tqdm(items, total=total, desc="lmdb", unit="img", disable=None):
        reason = label_problem(label, charset, max_length)
        if reason is None:
            try:
                if data is None:
                    with open(name, "rb") as f:
                        data = f.read()
                decode_bgr(data)
            except FileNotFoundError:
                reason = "image file missing"
            except (OSError, ImageError):
                reason = "image unreadable"
        if reason:
            skips[reason] += 1
            skipped.append(f"{name}\t{reason}")
            continue
        writer.add(data, label)
    writer.close()
    if skipped:
        with open(os.path.join(output, "skipped.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(skipped) + "\n")
    return writer.count, skips, skipped


def _file_items(entries: Sequence[Tuple[str, str]]) -> Iterator[Item]:
    for path, label in entries:
        yield path, None, label


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Write an image+label LMDB.", allow_abbrev=False)
    parser.add_argument("--input", "-i", required=True, help="MJSynth/Syn90k folder, IIIT5K folder or list file")
    parser.add_argument("--output", "-o", required=True, help="LMDB folder to create (replaced when complete)")
    parser.add_argument("--format", default="auto", choices=("auto", "synth", "iiit5k", "list"))
    parser.add_argument("--alphabet", default="", help="drop labels with other characters (after lower-casing "
                                                       "unless --case_sensitive)")
    add_bool_flag(parser, "case_sensitive")
    parser.add_argument("--max_length", type=int, default=0, help="drop labels longer than this (0: keep all)")
    parser.add_argument("--map_size", type=int, default=1 << 30, help="initial map size in bytes (grows as needed)")
    args = parser.parse_args(argv)
    try:
        entries = entries_for(args.input, args.format)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    charset = Charset(args.alphabet, args.case_sensitive) if args.alphabet else None
    written, skips, _ = write_lmdb(args.output, _file_items(entries), len(entries), charset, args.max_length,
                                   args.map_size)
    detail = ", ".join(f"{n} {r}" for r, n in skips.most_common()) or "none"
    print(f"wrote {written} of {len(entries)} samples to {args.output} (skipped: {detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
