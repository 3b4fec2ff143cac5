"""What a run leaves in its folder besides checkpoints: ``metrics.jsonl`` (one JSON line per log line and
per evaluation, for curves), ``metrics.png`` (drawn at the end), ``best.ckpt`` + ``best.json`` (the network of
the best hold-out epoch), and with ``--summary_dir`` the same numbers as TensorBoard event files (tensorboardX),
each against images seen."""
from __future__ import annotations

import json
import logging
import os
import math
from typing import Dict, List, Mapping, Sequence, Tuple

from mindspore import nn

from .. import checkpoint
from ..utils import read_json, write_json

log = logging.getLogger("crnn")

#: ``holdout_metric`` -> the score in ``best.json`` that picks ``best.ckpt``
HOLDOUT_METRICS = {"word": "accuracy", "char": "char_accuracy"}
#: per-crop hold-out scores of every epoch, one JSON line each, in the run folder
HOLDOUT_SCORES = "holdout_scores.jsonl"


class RunRecords:
    """Rank 0's records in ``folder``; other ranks write nothing."""

    def __init__(self, folder: str, is_main: bool = True, summary_dir: str = "") -> None:
        self.folder = folder
        self.is_main = is_main
        self.best_path = os.path.join(folder, "best.ckpt")
        self.summary = None
        if summary_dir and is_main:
            from tensorboardX import SummaryWriter

            self.summary = SummaryWriter(summary_dir, flush_secs=30)
            log.info("TensorBoard event files in %s (tensorboard --logdir=%s)", summary_dir, summary_dir)

    def plot(self) -> None:
        """``metrics.png`` beside ``metrics.jsonl`` (rank 0, at the end of a run); TensorBoard files flushed."""
        self.close()
        path = os.path.join(self.folder, "metrics.jsonl")
        if self.is_main and os.path.isfile(path) and plot_metrics(path, os.path.join(self.folder, "metrics.png")):
            log.info("training curves drawn in %s", os.path.join(self.folder, "metrics.png"))

    def append(self, entry: Dict) -> None:
        """Append one JSON line to ``metrics.jsonl`` (and its numbers to TensorBoard)."""
        if self.is_main:
            os.makedirs(self.folder, exist_ok=True)
            with open(os.path.join(self.folder, "metrics.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        if self.summary is not None:
            seen = entry.get("images_seen", entry.get("step", 0))
            if "accuracy" in entry:
                self.summary.add_scalar(f"accuracy/{entry['dataset']}", entry["accuracy"], seen)
            for key in ("loss", "lr", "img_per_s", "data_wait"):
                if key in entry:
                    self.summary.add_scalar(f"train/{key}", entry[key], seen)

    def close(self) -> None:
        if self.summary is not None:
            self.summary.close()

    def best_score(self, metric: str = "word") -> float:
        """The best hold-out score by ``metric`` so far (-1 before any): ``best.json`` survives a resume."""
        return float(read_json(self.best_path[:-len(".ckpt")] + ".json").get(HOLDOUT_METRICS[metric], -1.0))

    def keep_best(self, net: nn.Cell, epoch: int, scores: Mapping[str, float], meta: Mapping,
                  metric: str = "word") -> bool:
        """Write ``net`` to ``best.ckpt`` when its ``metric`` score beats every earlier epoch (a tie keeps the
        earlier one); True if it did. ``scores``: ``accuracy`` and ``char_accuracy`` of this epoch."""
        key = HOLDOUT_METRICS[metric]
        best = self.best_score(metric)
        if scores[key] <= best:
            log.info("hold-out best stays %s %.4f (%s)", key, best, self.best_path)
            return False
        return self._write_best(net, epoch, scores, meta, metric, "hold-out best")

    def record_holdout_scores(self, epoch: int, per_crop: Mapping[str, Sequence[float]]) -> None:
        """Append this epoch's per-crop hold-out scores (``word``: 1/0 exact match, ``char``: 1-NED) to
        ``holdout_scores.jsonl``: what ``holdout_pick=latest_not_worse`` decides by, and what
        ``tools/holdout_bootstrap.py`` measures the pick's noise from."""
        if not self.is_main:
            return
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, HOLDOUT_SCORES), "a", encoding="utf-8") as f:
            f.write(json.dumps({"epoch": epoch, **{k: list(v) for k, v in per_crop.items()}}) + "\n")

    def keep_latest_not_worse(self, net: nn.Cell, epoch: int, scores: Mapping[str, float], meta: Mapping,
                              metric: str = "word") -> bool:
        """``holdout_pick=latest_not_worse``: write ``net`` to ``best.ckpt`` unless the hold-out reads this epoch
        worse than the best epoch so far by more than two paired standard errors, by the per-crop scores
        recorded so far (:meth:`record_holdout_scores`; they survive a resume); True if it did."""
        epochs = {e: crops[metric] for e, crops in read_holdout_scores(self.folder).items() if metric in crops}
        pick, top, margin = latest_not_worse(epochs)
        if pick != epoch:
            log.info("hold-out: epoch %d reads %.2f points below epoch %d, more than two paired standard errors; "
                     "best.ckpt stays", epoch, 100 * margin, top)
            return False
        why = "hold-out best" if top == epoch else f"hold-out pick (not worse than epoch {top}, the best)"
        return self._write_best(net, epoch, scores, meta, metric, why)

    def _write_best(self, net: nn.Cell, epoch: int, scores: Mapping[str, float], meta: Mapping, metric: str,
                    why: str) -> bool:
        key = HOLDOUT_METRICS[metric]
        checkpoint.save(net, self.best_path, dict(meta))
        write_json(self.best_path[:-len(".ckpt")] + ".json", {"epoch": epoch, **scores, "metric": metric})
        log.info("%s %s %.4f at epoch %d: network written to %s", why, key, scores[key], epoch, self.best_path)
        return True


def read_holdout_scores(folder: str) -> Dict[int, Dict[str, List[float]]]:
    """``{epoch: {"word": [...], "char": [...]}}`` from a run folder's ``holdout_scores.jsonl`` (empty when it has
    none; a resumed run's repeat of an epoch replaces the earlier line; a line cut by a kill is skipped). Lines of
    the first format (``{"metric": m, "scores": [...]}``, one statistic) are read as ``{m: [...]}``."""
    path = os.path.join(folder, HOLDOUT_SCORES)
    epochs: Dict[int, Dict[str, List[float]]] = {}
    if not os.path.isfile(path):
        return epochs
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            epoch = int(entry.pop("epoch"))
            if "scores" in entry:
                entry = {entry["metric"]: entry["scores"]}
            epochs[epoch] = {k: [float(x) for x in v] for k, v in entry.items() if k in HOLDOUT_METRICS}
    return epochs


def latest_not_worse(epochs: Mapping[int, Sequence[float]], z: float = 2.0) -> Tuple[int, int, float]:
    """The latest epoch whose mean per-crop score is not below the best epoch's by more than ``z`` paired
    standard errors, the best epoch (the earliest on a tie), and how far the last epoch is below it (a fraction).
    Within one stage the epochs of a decaying schedule differ by about the hold-out's noise; this prefers the end
    of the schedule unless the hold-out shows it is worse."""
    order = sorted(epochs)
    top = max(order, key=lambda e: (sum(epochs[e]), -e))
    n = len(epochs[top])

    def below(e: int) -> Tuple[float, float]:
        diffs = [b - a for a, b in zip(epochs[e], epochs[top])]
        mean = sum(diffs) / n
        var = sum((d - mean) ** 2 for d in diffs) / max(n - 1, 1)
        return mean, math.sqrt(var / n)

    def not_worse(e: int) -> bool:
        gap, se = below(e)
        return gap <= z * se

    pick = next(e for e in reversed(order) if not_worse(e))   # ``top`` itself always qualifies
    return pick, top, below(order[-1])[0]


def read_metrics(metrics_path: str) -> List[Dict]:
    """The records of a ``metrics.jsonl``, in order; a line being written (a running run) or cut by a kill is
    skipped."""
    records = []
    with open(metrics_path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def plot_metrics(metrics_path: str, output: str) -> bool:
    """Draw ``metrics.jsonl`` (loss, lr, images/s, accuracies against images seen) as ``output``; False when it
    holds nothing to draw yet."""
    from ..evaluation.plots import run_plot

    title = os.path.basename(os.path.dirname(os.path.abspath(metrics_path)))
    return run_plot(read_metrics(metrics_path), output, title)
