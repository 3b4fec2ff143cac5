"""``eval.py --report=DIR``: one self-contained page (``DIR/index.html`` + its images) that shows what a model
gets wrong, per set and decoder — accuracy with counts, by label length / kind / case / doubled characters, the
character confusions, the errors as thumbnails (least confident first, each character shaded by its probability),
the accuracy–coverage curve, and with a second model the words each reads that the other does not. It opens
offline from the folder.

The page is a Jinja2 template (``templates/report.html.j2``); the numbers come from
:mod:`~src.evaluation.analysis`, the pictures from :mod:`~src.evaluation.plots`.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import jinja2

from ..data.source import SourceError
from ..data.transforms import ImageError
from . import analysis, plots
from .scoring import Prediction, SetResult

log = logging.getLogger("crnn")

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
THUMB_HEIGHT = 40
THUMB_MAX_WIDTH = 320
CASE_ORDER = ("lower", "UPPER", "Title", "MiXed", "no letters")
KIND_ORDER = ("letters", "digits", "letters+digits", "other")
REPEAT_ORDER = ("doubled character", "no doubled character")


@dataclass
class Comparison:
    """A second model's results on the same sets (``--compare_checkpoint_path``)."""

    model: str
    results: List[SetResult]


class Thumbnails:
    """Writes each sample's image once, scaled to :data:`THUMB_HEIGHT`, under ``DIR/images/<set>/``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.written: Dict[tuple, Optional[str]] = {}

    def __call__(self, result: SetResult, index: int) -> Optional[str]:
        """The thumbnail's path relative to the page, or None when the image cannot be read."""
        key = (result.name, index)
        if key not in self.written:
            self.written[key] = self._write(result, index)
        return self.written[key]

    def _write(self, result: SetResult, index: int) -> Optional[str]:
        try:
            image = result.source.load_image(index)
        except (OSError, ImageError, SourceError) as err:
            log.info("report: no thumbnail for %s: %s", result.source.key(index), err)
            return None
        h, w = image.shape[:2]
        width = max(1, min(THUMB_MAX_WIDTH, round(w * THUMB_HEIGHT / max(h, 1))))
        thumb = cv2.resize(image, (width, THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
        rel = os.path.join("images", safe_name(result.name), f"{index}.png")
        os.makedirs(os.path.join(self.folder, os.path.dirname(rel)), exist_ok=True)
        cv2.imwrite(os.path.join(self.folder, rel), thumb)
        return rel.replace(os.sep, "/")


def case_breakdown(predictions: Sequence[Prediction]) -> List[analysis.Group]:
    """Accuracy by the case the label was written in; empty when the labels show a single case (a loader that
    lower-cases, as SVT's): one row would only repeat the set's accuracy."""
    groups = analysis.breakdown(predictions, lambda p: analysis.label_case(p.raw_label), CASE_ORDER)
    return groups if sum(g.name != "no letters" for g in groups) > 1 else []


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "set"


def sample_view(p: Prediction, thumbs: Thumbnails, result: SetResult) -> Dict:
    """What the page shows of one reading: thumbnail, label, and each predicted character with its probability."""
    return {"image": thumbs(result, p.index), "key": p.image, "label": p.raw_label or p.label, "text": p.text,
            "readable": p.readable, "confidence": p.confidence, "min_prob": p.min_char_prob,
            "chars": [{"char": c.char, "prob": c.prob} for c in p.chars] if p.chars else
                     [{"char": c, "prob": 0.0} for c in p.text]}


def decoder_view(result: SetResult, decoder: str, folder: str, thumbs: Thumbnails, max_errors: int,
                 case_sensitive: bool) -> Dict:
    """Everything the page shows for one set and one decoder; writes its plots."""
    metric = result.decoders[decoder]
    predictions = result.predictions[decoder]
    stem = f"{safe_name(result.name)}_{safe_name(decoder)}"
    by_length = analysis.breakdown(predictions, lambda p: analysis.length_group(p.label))
    curve = analysis.coverage_curve(predictions)
    os.makedirs(os.path.join(folder, "plots"), exist_ok=True)
    plots.coverage_plot(curve, os.path.join(folder, "plots", f"{stem}_coverage.png"), f"{result.name}, {decoder}")
    plots.groups_plot(by_length, os.path.join(folder, "plots", f"{stem}_length.png"), f"{result.name}, {decoder}",
                      "label length")
    errors = sorted((p for p in predictions if not p.correct), key=lambda p: (p.min_char_prob, p.index))
    thresholds = []
    for target in analysis.COVERAGE_TARGETS:
        found = curve.at_accuracy(target)
        thresholds.append({"target": target, "threshold": found[0] if found else None,
                           "coverage": found[1] if found else None})
    return {
        "name": decoder, "accuracy": metric.accuracy, "correct": metric.correct, "total": metric.total,
        "by_length": by_length,
        "by_kind": analysis.breakdown(predictions, lambda p: analysis.label_kind(p.label), KIND_ORDER),
        "by_case": case_breakdown(predictions),
        "by_repeat": analysis.breakdown(predictions, lambda p: analysis.label_repeat(p.label), REPEAT_ORDER),
        "confusions": [{"op": analysis.describe_operation(op), "kind": op[0], "count": n}
                       for op, n in analysis.confusions(predictions, case_sensitive)],
        "errors": [sample_view(p, thumbs, result) for p in errors[:max_errors]],
        "more_errors": max(0, len(errors) - max_errors), "num_errors": len(errors),
        "coverage_plot": f"plots/{stem}_coverage.png", "length_plot": f"plots/{stem}_length.png",
        "thresholds": thresholds,
    }


def comparison_view(mine: SetResult, other: SetResult, decoder: str, thumbs: Thumbnails, max_errors: int) -> Dict:
    """Both accuracies on one set, and the words each model reads that the other does not (as thumbnails)."""
    a, b = mine.predictions[decoder], other.predictions[decoder]
    only_mine = [(p, q) for p, q in zip(a, b) if p.correct and not q.correct]
    only_other = [(p, q) for p, q in zip(a, b) if q.correct and not p.correct]

    def views(pairs: Sequence) -> List[Dict]:
        return [dict(sample_view(p, thumbs, mine), other_text=q.text) for p, q in pairs[:max_errors]]

    return {"accuracy": mine.decoders[decoder].accuracy, "other_accuracy": other.decoders[decoder].accuracy,
            "only_mine": views(only_mine), "only_other": views(only_other),
            "num_only_mine": len(only_mine), "num_only_other": len(only_other)}


def write_report(folder: str, results: Sequence[SetResult], model: str, compare: Optional[Comparison] = None,
                 max_errors: int = 60, case_sensitive: bool = False) -> str:
    """Write ``folder/index.html`` and its images for ``results`` (from ``evaluate_set(details=True)``);
    return the page's path."""
    os.makedirs(folder, exist_ok=True)
    thumbs = Thumbnails(folder)
    others = {r.name: r for r in compare.results} if compare else {}
    sets = []
    for result in results:
        decoders = [decoder_view(result, dec, folder, thumbs, max_errors, case_sensitive) for dec in result.decoders]
        first = next(iter(result.decoders))
        other = others.get(result.name)
        sets.append({
            "name": result.name, "anchor": safe_name(result.name), "total": result.total,
            "unreadable": result.unreadable, "decoders": decoders,
            "subsets": [{"name": name, "decoder": dec, "accuracy": m.accuracy, "correct": m.correct, "total": m.total}
                        for name, per in result.subsets.items() for dec, m in per.items()],
            "compare": comparison_view(result, other, first, thumbs, max_errors)
            if other is not None and first in other.predictions else None,
            "compare_decoder": first,
        })
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("report.html.j2").render(model=model, sets=sets, compare=compare,
                                                     max_errors=max_errors, targets=analysis.COVERAGE_TARGETS)
    path = os.path.join(folder, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    log.info("report written to %s (%d sets, %d thumbnails)", path, len(sets),
             sum(v is not None for v in thumbs.written.values()))
    return path
