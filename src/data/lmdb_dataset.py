"""Image+label LMDBs (the layout of clovaai/deep-text-recognition-benchmark, mindocr, PaddleOCR).

Keys: ``num-samples`` -> count; ``image-%09d`` -> encoded image; ``label-%09d`` -> UTF-8 label;
indices are 1-based. Several roots can be concatenated (comma-separated paths), and a
root may hold several LMDBs in sub-folders (every folder with a ``data.mdb``).

Nothing is loaded up front but the sample counts: labels and images are read on
demand, so a 10 M-sample LMDB needs no more memory than a small one. Environments are
opened read-only, without locks or read-ahead, lazily in each worker process.
"""
from __future__ import annotations

import bisect
import os
from typing import Any, Dict, List, Sequence, Tuple

import lmdb

from .source import MissingSample, SourceError, WordSource

NUM_SAMPLES = b"num-samples"


def find_lmdb_dirs(paths: Sequence[str]) -> List[str]:
    """Every folder holding a ``data.mdb`` under each of ``paths`` (sorted, in the order given)."""
    found: List[str] = []
    for path in paths:
        if not os.path.exists(path):
            raise SourceError(f"lmdb: path not found: {path}")
        hits = sorted(root for root, _, files in os.walk(path, followlinks=True) if "data.mdb" in files)
        if not hits:
            raise SourceError(f"lmdb: {path} is not an LMDB (no data.mdb in it or below it)")
        found.extend(hits)
    return found


_ENVIRONMENTS: Dict[Tuple[int, str], Tuple[Tuple[int, int, int], lmdb.Environment]] = {}


def open_env(path: str) -> lmdb.Environment:
    """This process's read-only environment of ``path``, shared: LMDB refuses to open one database twice in a
    process (two sources of one set, e.g. a report comparing two models), and never across a fork. A database
    rewritten since it was opened (another ``data.mdb``) is opened afresh."""
    key = (os.getpid(), os.path.realpath(path))
    info = os.stat(os.path.join(path, "data.mdb"))
    stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
    if key in _ENVIRONMENTS and _ENVIRONMENTS[key][0] != stamp:
        _ENVIRONMENTS.pop(key)[1].close()
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = (stamp, lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False,
                                               max_readers=64))
    return _ENVIRONMENTS[key][1]


def read_count(path: str) -> int:
    with open_env(path).begin() as txn:
        raw = txn.get(NUM_SAMPLES)
    if raw is None:
        raise SourceError(f"lmdb: {path} has no 'num-samples' key (not an image+label LMDB)")
    try:
        return int(raw.decode())
    except ValueError as err:
        raise SourceError(f"lmdb: {path}: 'num-samples' is not a number ({raw[:20]!r})") from err


class LmdbSource(WordSource):
    """Concatenation of image+label LMDBs; labels are checked when read (counted by status)."""

    name = "lmdb"

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        paths = [p.strip() for p in path.split(",") if p.strip()]
        if not paths:
            raise SourceError("lmdb: no dataset path given")
        self.dirs = find_lmdb_dirs(paths)
        self.counts = [read_count(d) for d in self.dirs]
        self.starts = [0]
        for n in self.counts:
            self.starts.append(self.starts[-1] + n)
        if self.starts[-1] == 0:
            raise SourceError(f"lmdb: {path} holds no samples")
        self._envs: Dict[int, lmdb.Environment] = {}
        self._pid = -1

    def __len__(self) -> int:
        return self.starts[-1]

    def __getstate__(self):  # environments never cross a fork/pickle: each worker opens its own
        state = dict(self.__dict__)
        state["_envs"], state["_pid"] = {}, -1
        return state

    def _locate(self, index: int):
        db = bisect.bisect_right(self.starts, index) - 1
        return db, index - self.starts[db] + 1  # 1-based key index

    def _get(self, index: int, prefix: str) -> bytes:
        if self._pid != os.getpid():
            self._envs, self._pid = {}, os.getpid()
        db, i = self._locate(index)
        if db not in self._envs:
            self._envs[db] = open_env(self.dirs[db])
        with self._envs[db].begin() as txn:
            value = txn.get(f"{prefix}-{i:09d}".encode())
        if value is None:
            raise MissingSample(f"{prefix}-{i:09d}")
        return bytes(value)

    def key(self, index: int) -> str:
        db, i = self._locate(index)
        return f"{self.dirs[db]}#{i}"

    def raw_label(self, index: int) -> str:
        return self._get(index, "label").decode("utf-8", errors="replace")

    def read_bytes(self, index: int) -> bytes:
        return self._get(index, "image")
