"""Scoring a model on benchmark sets: decoders per set, protocol subsets, many sets in one run.

``eval.py`` is a thin caller: it builds the backend, then :func:`evaluate_set` for one
dataset or, for ``--eval_dataset=all``, :func:`discover_sets` + :func:`evaluate_set` for each.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .charset import Charset
from .data.benchmarks import read_image_lexicons
from .data.pipeline import build_source
from .data.source import SourceError, WordSource
from .engine import collect_outputs
from .inference import Backend, Decoder, make_decoder
from .metrics import WordAccuracy

log = logging.getLogger("crnn")

#: benchmark folder names recognised by ``--eval_dataset=all`` (case-insensitive) and their readers
SET_FOLDERS = ("iiit5k", "svt", "ic03", "ic13", "ic15")
LEXICON_DECODERS = {"lex50": "small", "lex1k": "medium"}
DEFAULT_BEAM_WIDTH = 10

#: Word accuracy (%) of other recognizers on the same crops (greedy, case-insensitive [0-9a-z]), measured
#: on this project's machines, and published CRNN results trained on synthetic data only.
PEER_COLUMNS = ("Tesseract 5 --psm 8", "EasyOCR english_g2", "RapidOCR (PP-OCR rec)", "published CRNN")
PEERS = {
    "iiit5k": ("73.9", "74.2", "96.4", "80.2 MindSpore ref (MJ) · 84.4 mindocr (MJ+ST)"),
    "ic13": ("75.1", "78.3", "95.3", "92.9 MindSpore ref · 90.8 mindocr"),
    "ic13_857": ("77.6", "78.2", "95.3", "91.8 mindocr"),
    "ic15": ("not run", "not run", "79.0", "65.0 mindocr · 55.7 MMOCR (MJ)"),
    "svt": ("70.6", "56.7", "92.3", "81.9 MindSpore ref · 82.8 mindocr"),
}


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


def build_decoder(name: str, charset: Charset, source: WordSource, root: str, beam_width: int,
                  lexicon_delta: int) -> Decoder:
    """``greedy``, ``beam``, ``lex50``/``lex1k``/``small``/``medium`` (per-image lexicons) or a word-list file."""
    if name == "greedy":
        return make_decoder("greedy", charset)
    if name == "beam":
        return make_decoder("beam", charset, beam_width if beam_width > 1 else DEFAULT_BEAM_WIDTH)
    size = LEXICON_DECODERS.get(name, name)
    if size in ("small", "medium"):
        keys = [source.key(i) for i in range(len(source))]
        return make_decoder("lexicon", charset, lexicons=read_image_lexicons(root, size, keys), delta=lexicon_delta)
    if not os.path.isfile(name):
        raise SourceError(f"unknown decoder or lexicon file {name!r} (greedy, beam, lex50, lex1k, or a word list)")
    with open(name, encoding="utf-8") as f:
        words = [w.strip() for w in f if w.strip()]
    return make_decoder("lexicon", charset, global_lexicon=words, delta=lexicon_delta)


def evaluate_set(backend: Backend, cfg, charset: Charset, kind: str, path: str, decoder_names: Sequence[str],
                 name: Optional[str] = None, optional_decoders: bool = False,
                 progress: bool = True) -> Tuple[SetResult, List[Tuple[str, str, str, bool]]]:
    """Run ``backend`` once over a set and score it with every decoder.

    With ``optional_decoders`` a decoder the set has no data for (lexicons outside IIIT5K) is
    skipped with a log line instead of failing. Returns the result and the last decoder's records.
    """
    source = build_source(kind, path, cfg, charset, training=False)
    log.info(source.summary())
    decoders: Dict[str, Decoder] = {}
    for dec in decoder_names:
        try:
            decoders[dec] = build_decoder(dec, charset, source, path, cfg.beam_width, cfg.lexicon_delta)
        except SourceError as err:
            if not optional_decoders:
                raise
            log.info("%s: decoder %s not applicable (%s)", name or kind, dec, err)
    start = time.time()
    outputs = collect_outputs(backend, source, cfg.eval_batch_size, cfg.num_parallel_workers, progress)
    rate = len(outputs.keys) / max(time.time() - start, 1e-9)
    result = SetResult(name or kind, len(outputs.keys), outputs.readable.count(False), rate)
    records: List[Tuple[str, str, str, bool]] = []
    subsets = getattr(source, "subsets", {})
    for dec, decoder in decoders.items():
        start = time.time()
        metric, _ = outputs.score(decoder, charset.case_sensitive)
        result.decode_images_per_s[dec] = len(outputs.keys) / max(time.time() - start, 1e-9)
        result.decoders[dec] = metric
        records = metric.records
        for subset, mask in subsets.items():
            sub = WordAccuracy(case_sensitive=charset.case_sensitive)
            for (key, label, pred, _), keep, ok in zip(metric.records, mask, outputs.readable):
                if keep:
                    sub.update(key, label, pred, readable=ok)
            result.subsets.setdefault(subset, {})[dec] = sub
    return result, records


def format_line(name: str, metric: WordAccuracy) -> str:
    return f"{name}: accuracy={metric.accuracy:.4f} correct={metric.correct} total={metric.total}"


def summary_lines(results: Sequence[SetResult], decoder: str) -> List[str]:
    """``average`` (weighted by crops) and ``mean`` (unweighted, as mindocr reports) over the sets
    that have ``decoder``."""
    scored = [r.decoders[decoder] for r in results if decoder in r.decoders]
    if not scored:
        return []
    suffix = "" if decoder == "greedy" else f"/{decoder}"
    correct, total = sum(m.correct for m in scored), sum(m.total for m in scored)
    mean = sum(m.accuracy for m in scored) / len(scored)
    return [f"average{suffix}: accuracy={correct / max(total, 1):.4f} correct={correct} total={total}",
            f"mean{suffix}: accuracy={mean:.4f} sets={len(scored)}"]


def results_table(results: Sequence[SetResult], decoder: str = "greedy") -> str:
    """A markdown table: this model's accuracy per set (and protocol subset) next to :data:`PEERS`."""
    header = ["set (crops)", "this model"] + list(PEER_COLUMNS)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for result in results:
        rows = [(result.name, result.decoders.get(decoder))]
        rows += [(name, per.get(decoder)) for name, per in result.subsets.items()]
        for name, metric in rows:
            if metric is None:
                continue
            peers = PEERS.get(name, ("",) * len(PEER_COLUMNS))
            lines.append(f"| {name} ({metric.total}) | {100 * metric.accuracy:.1f} | " + " | ".join(peers) + " |")
    return "\n".join(lines)
