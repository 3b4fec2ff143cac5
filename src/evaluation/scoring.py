"""Scoring a model on benchmark sets: decoders per set, protocol subsets, many sets in one run.

``eval.py`` is a thin caller: it builds the backend, then :func:`evaluate_set` for one
dataset or, for ``--eval_dataset=all``, :func:`discover_sets` + :func:`evaluate_set` for each.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mindspore import nn
from tqdm import tqdm

from ..charset import Charset
from ..config import ROOT
from ..data.benchmarks import read_image_lexicons
from ..data.pipeline import SourceOptions, build_source, eval_indices, make_dataset
from ..data.source import STATUS_OK, MissingSample, SourceError, WordSource
from ..data.transforms import preprocess
from ..decoding import Decoder, DecoderSpec, GreedyDecoder, build_decoder
from ..decoding.confidence import CharProb, char_probs, min_char_prob
from ..model.backend import Backend, MindSporeBackend, log_softmax, read_turned, run_batched
from ..utils import LOG_EVERY_SECONDS, format_seconds
from .metrics import WordAccuracy

log = logging.getLogger("crnn")

#: benchmark folder names recognised by ``--eval_dataset=all`` (case-insensitive) and their readers
SET_FOLDERS = ("iiit5k", "svt", "ic03", "ic13", "ic15")

#: other recognizers' word accuracy on the same sets: a data file, shown beside the model's own by results_table
PEER_SCORES = os.path.join(ROOT, "docs", "peer_scores.json")


def read_peer_scores(path: str = PEER_SCORES) -> Tuple[List[str], Dict[str, List[str]]]:
    """(column names, {set name: one entry per column}) from ``docs/peer_scores.json``; empty if absent."""
    if not os.path.isfile(path):
        return [], {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return list(data["columns"]), {name: list(row) for name, row in data["sets"].items()}


@dataclass
class SetResult:
    """Accuracy of one set under each decoder, plus its protocol subsets (e.g. IC13 857)."""

    name: str
    total: int
    unreadable: int
    network_images_per_s: float
    decoders: Dict[str, WordAccuracy] = field(default_factory=dict)
    decode_images_per_s: Dict[str, float] = field(default_factory=dict)
    subsets: Dict[str, Dict[str, WordAccuracy]] = field(default_factory=dict)
    #: every sample's prediction per decoder (``evaluate_set(details=True)``: the report); else the last decoder's
    predictions: Dict[str, List["Prediction"]] = field(default_factory=dict)
    #: the set's reader, for the report's thumbnails (``source.load_image(prediction.index)``)
    source: Optional[WordSource] = field(default=None, repr=False)


@dataclass
class Prediction:
    """One sample read by one decoder: the word, its confidences and what it was scored against."""

    index: int
    image: str
    label: str
    raw_label: str
    text: str
    correct: bool
    readable: bool
    confidence: float
    log_probs: Optional[np.ndarray] = field(default=None, repr=False, compare=False)   # [T, C]: ``chars``' source
    charset: Optional[Charset] = field(default=None, repr=False, compare=False)

    @cached_property
    def chars(self) -> Tuple[CharProb, ...]:
        """Per-character probabilities of ``text`` (the CTC alignment of :mod:`src.decoding.confidence`),
        computed when first asked for: scoring alone never pays for them."""
        if not self.readable or self.log_probs is None or self.charset is None:
            return ()
        return char_probs(self.log_probs, self.text, self.charset)

    @property
    def min_char_prob(self) -> float:
        """The weakest character's probability (:mod:`src.decoding.confidence`); 0 for an unreadable image."""
        return min_char_prob(self.chars, self.confidence) if self.readable else 0.0


@dataclass
class Outputs:
    """Network outputs for a whole evaluation set, kept to run several decoders on."""

    keys: List[str] = field(default_factory=list)
    labels: List[str] = field(default_factory=list)
    raw_labels: List[str] = field(default_factory=list)
    readable: List[bool] = field(default_factory=list)
    log_probs: List[np.ndarray] = field(default_factory=list)   # one [T, C] array per sample
    tall: int = 0      # samples read turned too (``turn_tall``) ...
    turned: int = 0    # ... and those whose turned reading was kept

    def predictions(self, metric: WordAccuracy, confidences: Sequence[float], charset: Charset) -> List[Prediction]:
        """The samples as scored in ``metric`` (by :meth:`score`), with per-character probabilities on demand."""
        return [Prediction(i, key, label, raw, text, ok, readable, conf, lp, charset)
                for i, ((key, label, text, ok), raw, readable, conf, lp)
                in enumerate(zip(metric.records, self.raw_labels, self.readable, confidences, self.log_probs))]

    def score(self, decoder: Decoder, case_sensitive: bool = False) -> Tuple[WordAccuracy, List[float]]:
        metric = WordAccuracy(case_sensitive=case_sensitive)
        confidences = []
        for i, (key, label, ok, lp) in enumerate(zip(self.keys, self.labels, self.readable, self.log_probs)):
            text, conf = decoder(lp, i) if ok else ("", 0.0)
            metric.update(key, label, text, readable=ok)
            confidences.append(conf)
        return metric, confidences


def label_or_empty(source: WordSource, index: int, raw: bool = False) -> str:
    """The label of sample ``index`` (``raw``: as written, before normalisation); "" when its record is missing
    (an LMDB entry counted in ``num-samples`` but absent: the sample is already flagged unreadable, and scored
    as an error)."""
    try:
        return source.raw_label(index) if raw else source.label(index)
    except MissingSample:
        return ""


def turn_tall_samples(backend: Backend, source: WordSource, log_probs: np.ndarray, readable: Sequence[int],
                      ids: Sequence[int], min_ratio: float, out: Outputs) -> None:
    """The turned reading (:func:`src.model.backend.read_turned`) of a batch's readable tall samples, in place:
    each is read again from the source, turned, through the source's own resizing."""
    if not readable:
        return
    images = [source.load_image(int(ids[b])) for b in readable]
    prepare = partial(preprocess, size=source.image_size, interpolation=source.interpolation,
                      keep_aspect_ratio=source.keep_aspect_ratio)
    log_probs[:, readable], turns = read_turned(backend, images, log_probs[:, readable], min_ratio, prepare)
    out.tall += sum(k is not None for k in turns)
    out.turned += sum(bool(k) for k in turns)


def collect_outputs(backend: Backend, source: WordSource, batch_size: int, num_workers: int,
                    progress: bool = True, turn_tall: float = 0.0) -> Outputs:
    """Log-probabilities for every sample of ``source``, in order (unreadable ones flagged); with ``turn_tall``
    the tall samples' most confident way up (:func:`turn_tall_samples`)."""
    indices, real = eval_indices(len(source), batch_size)
    dataset = make_dataset(source, indices, batch_size, num_workers)
    out = Outputs()
    bar = tqdm(total=real, desc=f"eval {source.name}", unit="img", disable=not progress or None)
    start = last_line = time.time()
    for images, _, _, status, ids in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        log_probs = log_softmax(run_batched(backend, images).astype(np.float32))
        if turn_tall:
            readable = [b for b, st in enumerate(status[: real - len(out.keys)]) if st == STATUS_OK]
            turn_tall_samples(backend, source, log_probs, readable, ids, turn_tall, out)
        for b, (st, i) in enumerate(zip(status, ids)):
            if len(out.keys) >= real:
                break
            out.keys.append(source.key(i))
            out.labels.append(label_or_empty(source, i))
            out.raw_labels.append(label_or_empty(source, i, raw=True))
            out.readable.append(bool(st == STATUS_OK))
            out.log_probs.append(log_probs[:, b])
        bar.update(min(len(ids), real - bar.n))
        now = time.time()
        if progress and bar.disable and now - last_line >= LOG_EVERY_SECONDS and len(out.keys) < real:
            done = len(out.keys)  # no bar when the output is not a terminal: a line every 30 s instead
            log.info("eval %s: %d/%d images, %.1f img/s, eta %s", source.name, done, real,
                     done / (now - start), format_seconds((real - done) * (now - start) / max(done, 1)))
            last_line = now
    bar.close()
    return out


def evaluate_network(net: nn.Cell, source: WordSource, charset: Charset, batch_size: int, num_workers: int,
                     progress: bool = False) -> WordAccuracy:
    """Greedy accuracy of a MindSpore network on ``source`` (evaluation during training)."""
    outputs = collect_outputs(MindSporeBackend(net), source, batch_size, num_workers, progress)
    return outputs.score(GreedyDecoder(charset), charset.case_sensitive)[0]


def discover_sets(root: str) -> List[Tuple[str, str, str]]:
    """(set name, dataset kind, path) of every benchmark folder under ``root``: the standard
    benchmarks by folder name, then every ``<name>/labels.tsv`` label list."""
    if not os.path.isdir(root):
        raise SourceError(f"all: benchmark root not found: {root}")
    entries = sorted(os.listdir(root))
    found = []
    for kind in SET_FOLDERS:
        found += [(kind, kind, os.path.join(root, e)) for e in entries
                  if e.lower() == kind and os.path.isdir(os.path.join(root, e))]
    found += [(e, "list", os.path.join(root, e)) for e in entries
              if e.lower() not in SET_FOLDERS and os.path.isfile(os.path.join(root, e, "labels.tsv"))]
    if not found:
        raise SourceError(f"all: no benchmark folder ({', '.join(SET_FOLDERS)}) and no <name>/labels.tsv in {root}")
    return found


def build_shared_decoders(specs: Sequence[DecoderSpec], charset: Charset) -> Dict[str, Decoder]:
    """The decoders that do not depend on the evaluated set, built once per run and named by their
    canonical spec (per-image lexicons, ``lexicon:50``/``lexicon:1k``, are built per set by
    :func:`evaluate_set`)."""
    return {str(spec): build_decoder(spec, charset) for spec in specs if not spec.per_image}


def evaluate_set(backend: Backend, charset: Charset, kind: str, path: str, specs: Sequence[DecoderSpec],
                 shared: Dict[str, Decoder], options: SourceOptions, batch_size: int, num_workers: int = 1,
                 name: Optional[str] = None, optional_decoders: bool = False, progress: bool = True,
                 details: bool = False, turn_tall: float = 0.0) -> SetResult:
    """Run ``backend`` once over a set and score it with every decoder.

    ``shared`` are the set-independent decoders (:func:`build_shared_decoders`); the per-image
    lexicon decoders (``lexicon:50``/``lexicon:1k``) are built here from the set's own lexicons; ``turn_tall``
    reads the tall crops turned too (:func:`turn_tall_samples`). With
    ``optional_decoders`` a decoder the set has no data for (lexicons outside IIIT5K) is skipped
    with a log line instead of failing. The result holds the last decoder's predictions (every decoder's
    with ``details``, and the source, for the report).
    """
    source = build_source(kind, path, charset, options, training=False)
    log.info(source.summary())
    decoders: Dict[str, Decoder] = {}
    for spec in specs:
        dec = str(spec)
        if spec.per_image is None:
            decoders[dec] = shared[dec]
            continue
        try:
            keys = [source.key(i) for i in range(len(source))]
            decoders[dec] = build_decoder(spec, charset, per_image=read_image_lexicons(path, spec.per_image, keys))
        except SourceError as err:
            if not optional_decoders:
                raise
            log.info("%s: decoder %s not applicable (%s)", name or kind, dec, err)
    start = time.time()
    outputs = collect_outputs(backend, source, batch_size, num_workers, progress, turn_tall)
    rate = len(outputs.keys) / max(time.time() - start, 1e-9)
    if turn_tall:
        log.info("%s: %d crops at least %g times taller than wide also read turned, %d of them kept turned",
                 name or kind, outputs.tall, turn_tall, outputs.turned)
    result = SetResult(name or kind, len(outputs.keys), outputs.readable.count(False), rate)
    subsets = getattr(source, "subsets", {})
    result.source = source if details else None
    for n, (dec, decoder) in enumerate(decoders.items()):
        start = time.time()
        metric, confidences = outputs.score(decoder, charset.case_sensitive)
        result.decode_images_per_s[dec] = len(outputs.keys) / max(time.time() - start, 1e-9)
        result.decoders[dec] = metric
        if details or n == len(decoders) - 1:
            result.predictions[dec] = outputs.predictions(metric, confidences, charset)
        for subset, mask in subsets.items():
            sub = WordAccuracy(case_sensitive=charset.case_sensitive)
            for (key, label, pred, _), keep, ok in zip(metric.records, mask, outputs.readable):
                if keep:
                    sub.update(key, label, pred, readable=ok)
            result.subsets.setdefault(subset, {})[dec] = sub
    return result


def greedy_result(backend: Backend, charset: Charset, kind: str, path: str, options: SourceOptions,
                  batch_size: int, num_workers: int = 1, name: Optional[str] = None) -> SetResult:
    """One set scored by greedy decoding alone, quietly (no progress bar): the learning curves and the
    hold-out scoring of saved epochs (``tools/eval_curve.py``, ``tools/holdout_bootstrap.py --score``)."""
    specs = [DecoderSpec("greedy")]
    return evaluate_set(backend, charset, kind, path, specs, build_shared_decoders(specs, charset), options,
                        batch_size, num_workers, name=name, optional_decoders=True, progress=False)


def format_line(name: str, metric: WordAccuracy) -> str:
    return (f"{name}: accuracy={metric.accuracy:.4f} correct={metric.correct} total={metric.total} "
            f"char_accuracy={metric.char_accuracy:.4f}")


def summary_lines(results: Sequence[SetResult], decoder: str) -> List[str]:
    """``average`` (weighted by crops) and ``mean`` (unweighted, as mindocr reports) over the sets
    that have ``decoder``."""
    scored = [r.decoders[decoder] for r in results if decoder in r.decoders]
    if not scored:
        return []
    suffix = "" if decoder == "greedy" else f"/{decoder}"
    correct, total = sum(m.correct for m in scored), sum(m.total for m in scored)
    chars = sum(sum(m.similarities) for m in scored) / max(total, 1)
    mean = sum(m.accuracy for m in scored) / len(scored)
    return [f"average{suffix}: accuracy={correct / max(total, 1):.4f} correct={correct} total={total} "
            f"char_accuracy={chars:.4f}",
            f"mean{suffix}: accuracy={mean:.4f} sets={len(scored)}"]


def results_table(results: Sequence[SetResult], decoder: str = "greedy") -> str:
    """A markdown table: this model's accuracy per set (and protocol subset) next to the peer scores."""
    columns, peers = read_peer_scores()
    header = ["set (crops)", "this model"] + columns
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for result in results:
        rows = [(result.name, result.decoders.get(decoder))]
        rows += [(name, per.get(decoder)) for name, per in result.subsets.items()]
        for name, metric in rows:
            if metric is None:
                continue
            row = peers.get(name, [""] * len(columns))
            lines.append(f"| {name} ({metric.total}) | {100 * metric.accuracy:.1f} | " + " | ".join(row) + " |")
    return "\n".join(lines)
