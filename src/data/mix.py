"""Training on several sources at once, with a fixed share of every batch from each.

Like the ``batch_ratio`` of deep-text-recognition-benchmark, but deterministic and
resumable: sample ``i`` of the mixed stream is position ``j = i % batch_size`` of global
batch ``g = i // batch_size``. Positions are assigned to sources by their share, and a
source's own counter ``k = g * per_batch + slot`` runs through seeded per-epoch
permutations of that source. So every batch holds exactly the configured shares, each source
cycles through its own epochs independently, and any step can be recomputed from ``g``
alone (no state to save for resume, identical on every rank).
"""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .augment import augment
from .source import STATUS_OK, SourceError, WordSource


class IndexedSource(WordSource):
    """The concatenation of ``(source, indices)`` parts: a train or hold-out slice of one or more sources."""

    def __init__(self, parts: Sequence[Tuple[WordSource, np.ndarray]], name: str) -> None:
        first = parts[0][0]
        super().__init__(first.charset, first.image_size, first.max_text_length, first.num_frames, False, Counter())
        self.name = name
        self.parts = [(src, np.asarray(idx, dtype=np.int64)) for src, idx in parts]
        self.starts = np.cumsum([0] + [len(idx) for _, idx in self.parts])

    def _locate(self, index: int) -> Tuple[WordSource, int]:
        p = int(np.searchsorted(self.starts, index, side="right")) - 1
        src, idx = self.parts[p]
        return src, int(idx[index - self.starts[p]])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _ask(self, method: str, index: int):
        """``method`` of the source that holds sample ``index``, called with its own index there."""
        src, i = self._locate(index)
        return getattr(src, method)(i)

    def key(self, index: int) -> str:
        return self._ask("key", index)

    def label(self, index: int) -> str:
        return self._ask("label", index)

    def raw_label(self, index: int) -> str:
        return self._ask("raw_label", index)

    def read_bytes(self, index: int) -> bytes:
        return self._ask("read_bytes", index)

    def __getitem__(self, index: int):
        src, i = self._locate(int(index))
        image, label, length, status, _ = src[i]
        return image, label, length, status, np.int32(index)


def split_holdout(source: WordSource, fraction: float, seed: int) -> Tuple[IndexedSource, IndexedSource]:
    """A fixed, seeded (train, hold-out) split of ``source``; the hold-out keeps at least one sample."""
    order = np.random.RandomState(seed).permutation(len(source))
    n_val = max(1, int(round(len(source) * fraction)))
    if n_val >= len(source):
        raise SourceError(f"{source.name}: holdout_fraction {fraction} leaves no training samples")
    return (IndexedSource([(source, np.sort(order[n_val:]))], source.name),
            IndexedSource([(source, np.sort(order[:n_val]))], f"{source.name}-holdout"))


def mix_shares(train_mix: str, num_sources: int) -> List[float]:
    """``train_mix`` ("0.75,0.25") as one share per training source; empty means equal shares."""
    if not train_mix:
        return [1.0] * num_sources
    shares = [float(x) for x in str(train_mix).split(",")]
    if len(shares) != num_sources:
        raise SourceError(f"train_mix has {len(shares)} shares for {num_sources} training datasets")
    return shares


def batch_counts(shares: Sequence[float], batch_size: int) -> List[int]:
    """Split ``batch_size`` by ``shares`` (largest remainder), at least one sample per source."""
    if len(shares) > batch_size:
        raise SourceError(f"{len(shares)} training sources need a batch_size of at least {len(shares)}")
    if any(s <= 0 for s in shares):
        raise SourceError(f"train_mix shares must be > 0 (got {list(shares)})")
    total = float(sum(shares))
    exact = [s / total * batch_size for s in shares]
    counts = [max(1, int(e)) for e in exact]
    while sum(counts) < batch_size:
        gaps = [e - c for e, c in zip(exact, counts)]
        counts[int(np.argmax(gaps))] += 1
    while sum(counts) > batch_size:
        counts[int(np.argmax(counts))] -= 1
    return counts


@dataclass
class MixPart:
    """One source of a mix. ``source_for_epoch(e)`` gives the source for its own epoch ``e``
    (the on-the-fly renderer draws new words every epoch; files give the same source)."""

    name: str
    source_for_epoch: Callable[[int], WordSource]
    length: int
    per_batch: int
    augment: bool = False
    augment_strength: str = "mild"   # data.augment.STRENGTHS
    _cache: Dict[int, WordSource] = field(default_factory=dict)

    def source(self, epoch: int) -> WordSource:
        if epoch not in self._cache:
            if len(self._cache) >= 2:
                self._cache.pop(min(self._cache))
            self._cache[epoch] = self.source_for_epoch(epoch)
        return self._cache[epoch]


def augmented(part: MixPart) -> str:
    """How a part's summary says it is augmented ("" when it is not; the strength when not the default)."""
    if not part.augment:
        return ""
    return " (augmented)" if part.augment_strength == "mild" else f" (augmented, {part.augment_strength})"


class MixedSource(WordSource):
    """Samples of global batch ``g`` at indices ``g * batch_size ... g * batch_size + batch_size - 1``.

    One epoch is one pass over the first part (``len(first) // its per-batch count`` batches).
    """

    name = "mix"

    def __init__(self, parts: Sequence[MixPart], batch_size: int, seed: int, shuffle: bool = True) -> None:
        first = parts[0].source(0)
        super().__init__(first.charset, first.image_size, first.max_text_length, first.num_frames, False, Counter())
        if sum(p.per_batch for p in parts) != batch_size:
            raise SourceError("mix: per-batch counts must add up to batch_size")
        self.parts = list(parts)
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.offsets = np.cumsum([0] + [p.per_batch for p in parts]).tolist()
        self.batches_per_epoch = parts[0].length // parts[0].per_batch
        self._orders: Dict[Tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return self.batches_per_epoch * self.batch_size

    def _order(self, part: int, epoch: int) -> np.ndarray:
        key = (part, epoch)
        if key not in self._orders:
            n = self.parts[part].length
            self._orders[key] = (np.random.RandomState((self.seed * 7_919 + part * 104_729 + epoch) % 2 ** 32)
                                 .permutation(n) if self.shuffle else np.arange(n))
            for old in [k for k in self._orders if k[0] == part and k[1] < epoch - 1]:
                del self._orders[old]
        return self._orders[key]

    def locate(self, index: int) -> Tuple[int, int, int]:
        """(part, that part's epoch, sample index in that part's source) of mixed sample ``index``."""
        g, j = divmod(int(index), self.batch_size)
        part = bisect.bisect_right(self.offsets, j) - 1
        count = g * self.parts[part].per_batch + (j - self.offsets[part])
        epoch, position = divmod(count, self.parts[part].length)
        return part, epoch, int(self._order(part, epoch)[position])

    def key(self, index: int) -> str:
        part, epoch, i = self.locate(index)
        return self.parts[part].source(epoch).key(i)

    def label(self, index: int) -> str:
        part, epoch, i = self.locate(index)
        return self.parts[part].source(epoch).label(i)

    def __getitem__(self, index: int):
        part, epoch, i = self.locate(index)
        spec = self.parts[part]
        image, label, length, status, _ = spec.source(epoch)[i]
        if spec.augment and status == STATUS_OK:
            image = augment(image, np.random.default_rng((self.seed, part, epoch, i)), spec.augment_strength)
        return image, label, length, status, np.int32(index)

    def summary(self) -> str:
        shares = ", ".join(f"{p.name} {p.per_batch}/{self.batch_size}{augmented(p)}" for p in self.parts)
        return f"mix: {shares} per batch; one epoch = {self.batches_per_epoch} batches (a pass over {self.parts[0].name})"

    def global_batch_indices(self, first_batch: int, num_batches: int, stride: int = 1) -> np.ndarray:
        """Sample indices of global batches ``first_batch, first_batch + stride, ...`` (``num_batches`` of them)."""
        batches = first_batch + stride * np.arange(num_batches)
        return (batches[:, None] * self.batch_size + np.arange(self.batch_size)[None, :]).ravel()
