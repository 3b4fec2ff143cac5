"""Build sources from the config and turn them into batched MindSpore datasets.

The epoch order is computed here (a seeded permutation per epoch, split into equal
disjoint shards per rank), so that a resumed run sees exactly the batches an
uninterrupted run would, and every rank runs the same number of steps.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import mindspore.dataset as ds
import numpy as np

from ..charset import Charset
from ..config import Config
from ..model import sequence_length
from .benchmarks import BenchmarkSource
from .lmdb_dataset import LmdbSource
from .mix import IndexedSource, MixedSource, MixPart, batch_counts, mix_shares, split_holdout
from .render import RenderedSource
from .source import COLUMNS, SourceError, WordSource
from .synth import MJSynthSource
from .transforms import model_interpolation, normalize, set_pixel_limit

BENCHMARKS = ("iiit5k", "ic03", "ic13", "ic15", "svt", "list")

log = logging.getLogger("crnn")


@dataclass(frozen=True)
class SourceOptions:
    """What every source needs besides its name and path; :meth:`from_config` is the one place these
    keys of ``default_config.yaml`` are read for data."""

    image_size: Tuple[int, int] = (32, 100)   # image_height, image_width
    max_text_length: int = 23
    rendered_num_samples: int = 6400
    seed: int = 0                             # the renderer's stream (evaluation uses seed + 7919)
    fonts: str = ""
    words: str = ""
    backgrounds: str = ""
    interpolation: str = "bilinear"           # resize_interpolation
    keep_aspect_ratio: bool = False
    line_words: int = 1                       # rendered_line_words
    short_share: float = 0.0                  # rendered_short_words

    @classmethod
    def from_config(cls, cfg: Config) -> "SourceOptions":
        set_pixel_limit(cfg.max_image_pixels)  # every reader of this process refuses larger images
        return cls((cfg.image_height, cfg.image_width), cfg.max_text_length, cfg.rendered_num_samples, cfg.seed,
                   cfg.rendered_fonts, cfg.rendered_words, cfg.rendered_backgrounds,
                   model_interpolation(cfg.resize_interpolation), cfg.keep_aspect_ratio, cfg.rendered_line_words,
                   cfg.rendered_short_words)

    def source_kwargs(self, charset: Charset) -> dict:
        """The keyword arguments every :class:`WordSource` takes."""
        return dict(charset=charset, image_size=self.image_size, max_text_length=self.max_text_length,
                    num_frames=sequence_length(self.image_size[1]), interpolation=self.interpolation,
                    keep_aspect_ratio=self.keep_aspect_ratio)


def build_source(name: str, path: str, charset: Charset, options: SourceOptions, training: bool,
                 epoch: int = 0, filter_labels: Optional[bool] = None) -> WordSource:
    """The source for dataset ``name`` at ``path`` (its training split when ``training``); training sources
    filter labels the model cannot learn unless ``filter_labels`` says otherwise (the dataset check)."""
    common = options.source_kwargs(charset)
    keep = training if filter_labels is None else filter_labels
    if name == "synth":
        return MJSynthSource(path, "train" if training else "test", filter_labels=keep, **common)
    if name == "rendered":
        if path:  # a folder written by `python -m src.data.render` is an MJSynth folder
            return MJSynthSource(path, "train" if training else "test", filter_labels=keep, **common)
        seed = options.seed if training else options.seed + 7919  # a held-out stream for evaluation
        return RenderedSource(options.rendered_num_samples, epoch=epoch if training else 0, seed=seed,
                              fonts=options.fonts, words=options.words, backgrounds=options.backgrounds,
                              line_words=options.line_words, short_share=options.short_share if training else 0.0,
                              filter_labels=True, **common)
    if name == "lmdb":
        return LmdbSource(path, filter_labels=keep, **common)
    if name in BENCHMARKS:
        return BenchmarkSource(name, path, filter_labels=keep, training=training, strip_labels=keep, **common)
    raise SourceError(f"unknown dataset {name!r}")


def split_names(text: str) -> List[str]:
    return [t.strip() for t in str(text).split(",")]


def build_training_source(cfg: Config, charset: Charset) -> Tuple[WordSource, Optional[WordSource]]:
    """The training source and the hold-out slice for model selection (or None).

    A single MJSynth/LMDB/rendered dataset is read as before (the reference's path). Several
    datasets, or real crops (benchmark train splits, label lists), go through a
    :class:`MixedSource`: ``train_mix`` shares of every batch, real crops augmented when
    ``augment`` is on, ``holdout_fraction`` of each real set held out.
    """
    options = SourceOptions.from_config(cfg)
    names = split_names(cfg.train_dataset)
    if len(names) == 1 and names[0] not in BENCHMARKS:
        if cfg.holdout_fraction > 0:
            log.warning("holdout_fraction applies to real crops (benchmark train sets, label lists); "
                        "nothing is held out of %s", names[0])
        return build_source(names[0], cfg.train_dataset_path, charset, options, training=True), None
    paths = split_names(cfg.train_dataset_path) if len(names) > 1 else [cfg.train_dataset_path]
    if len(paths) != len(names):
        raise SourceError(f"train_dataset names {len(names)} datasets but train_dataset_path has {len(paths)} "
                          f"comma-separated entries (one per dataset; empty for the on-the-fly renderer)")
    parts, holdouts = [], []
    counts = batch_counts(mix_shares(cfg.train_mix, len(names)), cfg.batch_size)
    for name, path, count in zip(names, paths, counts):
        if name == "rendered" and not path:
            parts.append(MixPart(name, lambda e: build_source("rendered", "", charset, options, True, epoch=e),
                                 cfg.rendered_num_samples, count))
            continue
        source = build_source(name, path, charset, options, training=True)
        log.info(source.summary())
        real = name in BENCHMARKS
        if real and cfg.holdout_fraction > 0:
            source, held = split_holdout(source, cfg.holdout_fraction, cfg.holdout_seed or cfg.seed)
            holdouts.append(held)
        parts.append(MixPart(name, lambda e, s=source: s, len(source), count, augment=real and cfg.augment,
                             augment_strength=cfg.augment_strength))
    holdout = None
    if holdouts:
        holdout = IndexedSource([(h, np.arange(len(h))) for h in holdouts], "holdout")
        log.info("hold-out for model selection: %d crops (%s)", len(holdout),
                 ", ".join(f"{h.name} {len(h)}" for h in holdouts))
    return MixedSource(parts, cfg.batch_size, cfg.seed, cfg.shuffle), holdout


def epoch_indices(num_samples: int, batch_size: int, epoch: int, seed: int, shuffle: bool,
                  num_shards: int = 1, shard_id: int = 0) -> np.ndarray:
    """Sample order of one epoch for one shard: whole batches only, same count on every shard."""
    order = np.arange(num_samples)
    if shuffle:
        order = np.random.RandomState((seed * 7_919 + epoch) % (2 ** 32)).permutation(num_samples)
    per_shard = (num_samples // num_shards) // batch_size * batch_size
    if per_shard == 0:
        raise SourceError(f"{num_samples} samples are fewer than one batch of {batch_size} per shard "
                          f"({num_shards} shards): lower batch_size")
    return order[shard_id::num_shards][:per_shard]


def eval_indices(num_samples: int, batch_size: int) -> Tuple[np.ndarray, int]:
    """All samples in order, padded (by repeating the last) to whole batches; returns (indices, real count)."""
    padded = -(-num_samples // batch_size) * batch_size
    order = np.arange(padded)
    order[num_samples:] = num_samples - 1
    return order, num_samples


class OrderedView:
    """``source`` seen through a fixed index order (MindSpore requires len == samples read)."""

    def __init__(self, source: WordSource, indices: np.ndarray) -> None:
        self.source = source
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int):
        return self.source[int(self.indices[j])]


class BatchView:
    """``source`` read a whole batch at a time, for worker processes: one transfer per batch instead of one per
    image (the per-image transfer cost worker processes 2.3x a thread's CPU time per image; bench/bench_data.py)."""

    def __init__(self, source: WordSource, indices: np.ndarray, batch_size: int) -> None:
        self.view = OrderedView(source, indices)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.view) // self.batch_size

    def __getitem__(self, j: int):
        samples = [self.view[k] for k in range(j * self.batch_size, (j + 1) * self.batch_size)]
        return tuple(np.stack(column) for column in zip(*samples))


def normalize_batch(images: np.ndarray) -> np.ndarray:
    """[B, H, W, 3] uint8 -> [B, 3, H, W] float32: :func:`~src.data.transforms.normalize` on every image."""
    return np.stack([normalize(image) for image in images])


def make_dataset(source: WordSource, indices: np.ndarray, batch_size: int, num_workers: int) -> ds.Dataset:
    """Batches of (image [B,3,H,W] float32, label [B,L] int32, label_length, status, index) in ``indices`` order.

    One worker reads images in a thread; several are processes that each build whole batches."""
    if num_workers > 1:
        dataset = ds.GeneratorDataset(BatchView(source, indices, batch_size), column_names=COLUMNS, shuffle=False,
                                      num_parallel_workers=num_workers, python_multiprocessing=True)
        return dataset.map(operations=[normalize_batch], input_columns=["image"], python_multiprocessing=False)
    dataset = ds.GeneratorDataset(OrderedView(source, indices), column_names=COLUMNS, shuffle=False,
                                  num_parallel_workers=1, python_multiprocessing=False)
    # the sources already resize; the same normalisation as the Recognizer (transforms.normalize)
    dataset = dataset.map(operations=[normalize], input_columns=["image"], python_multiprocessing=False)
    return dataset.batch(batch_size, drop_remainder=True)
