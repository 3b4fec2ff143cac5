"""What a recipe chain's run folders say, read without training: each stage's hold-out per epoch and release
against the documented run (``record.json`` beside the recipes), the shipping rule, the record written from
finished stages, the chain's learning curve. ``tools/reproduce.py`` runs the stages; its ``--check``,
``--record`` and ``--curve`` are the functions here.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from src import utils  # noqa: E402
from src.config import load_config  # noqa: E402
from src.errors import CrnnError  # noqa: E402

TEST_SETS = ("iiit5k", "ic13", "svt", "ic15")   # the shipping rule's sets (IC13: all 1015 crops)
MAX_DROP = 1.0                                   # points a set may lose against the old model
RECORD = "record.json"   # beside the recipes: the documented run's numbers, that a rerun is checked against


def stage_number(path: str) -> int:
    return int(re.sub(r"\D", "", os.path.basename(path)) or 0)


def stage_files(folder: str) -> List[str]:
    """Every recipe file (``stage<N>.yaml``) of ``folder``, in order."""
    found = sorted(glob.glob(os.path.join(folder, "stage*.yaml")), key=stage_number)
    if not found:
        raise SystemExit(f"error: no stage<N>.yaml in {folder}")
    return found


def read_json(path: str, default: Any = None) -> Any:
    """:func:`src.utils.read_json`, its error as this tool's one ``error:`` line."""
    try:
        return utils.read_json(path, default)
    except CrnnError as err:
        hint = " (a stage folder without its stage.json is trained on from its last checkpoint)" \
            if "not readable" in str(err) else ""
        raise SystemExit(f"error: {err}{hint}") from None


class WallClock:
    """The training wall clock of one stage over every invocation (``RUNS/stageN/wallclock.json``).

    Each invocation appends ``[start, end]``. One that was killed has no end: the next invocation closes it at
    the time ``train.log`` was last written (its output is copied there line by line), so a stage resumed over
    several sittings reports its whole training time, not only the last sitting's.
    """

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, "wallclock.json")
        self.log = os.path.join(folder, "train.log")
        self.spans: List[List[Optional[float]]] = read_json(self.path, [])

    def _save(self) -> None:
        utils.write_json(self.path, self.spans)

    def _last_output(self, now: float) -> float:
        """When the open sitting last wrote to ``train.log`` (its end, if it was killed), at most ``now``."""
        last = os.path.getmtime(self.log) if os.path.isfile(self.log) else self.spans[-1][0]
        return max(self.spans[-1][0], min(last, now))

    def start(self, now: float) -> None:
        if self.spans and self.spans[-1][1] is None:   # the previous sitting was killed
            self.spans[-1][1] = self._last_output(now)
        self.spans.append([now, None])
        self._save()

    def stop(self, now: float) -> None:
        self.spans[-1][1] = now
        self._save()

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans if end is not None)

    def open_seconds(self, now: float) -> float:
        """The sitting still open (running, or killed), up to its last line of output; 0 when none is."""
        if not self.spans or self.spans[-1][1] is not None:
            return 0.0
        return self._last_output(now) - self.spans[-1][0]


def holdout_best(folder: str) -> Optional[float]:
    return read_json(os.path.join(folder, "best.json")).get("accuracy")


def holdout_counts(folder: str) -> Dict[int, int]:
    """Correct hold-out crops after each epoch of a stage so far (from its ``holdout_scores.jsonl``)."""
    from src.train.records import read_holdout_scores   # imports MindSpore: only when a stage is checked

    return {e: int(round(sum(s["word"]))) for e, s in read_holdout_scores(folder).items() if "word" in s}


def holdout_line(name: str, ran: Dict[int, int], expected: Optional[List[int]], total: Any) -> str:
    """The hold-out after each epoch so far, against the record's counts when it has the stage."""
    epochs = sorted(e for e in ran if expected is None or e <= len(expected))
    if not epochs:
        return f"{name}: no epoch ended yet" + (f" (record: {len(expected)} epochs)" if expected else "")
    got = " ".join(str(ran[e]) for e in epochs)
    after = f"epochs {epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"epoch {epochs[0]}"
    line = f"{name}: hold-out after {after}: {got} of {total}"
    if expected is None:
        return f"{line} (not in the record)"
    differ = [e for e in epochs if ran[e] != expected[e - 1]]
    if not differ:
        return f"{line}: the record's"
    first = differ[0]
    return (f"{line}; differs from the record from epoch {first} ({ran[first]} vs {expected[first - 1]}), "
            f"at {len(differ)} of {len(epochs)} epochs")


def check_stage(name: str, folder: str, record: Dict) -> List[str]:
    """Lines comparing a stage's run so far with the documented one: the hold-out after each epoch, the
    release epoch and its test sets (and the shipping rule, when the record keeps the shipped model's counts),
    the training wall clock. A stage the record lacks gets the same lines with nothing to compare them with."""
    documented = record.get("stages", {}).get(name)
    lines = [holdout_line(name, holdout_counts(folder), documented["holdout_correct"] if documented else None,
                          record.get("holdout_total", "?"))]
    info = read_json(os.path.join(folder, "stage.json"))
    if info:
        epoch = read_json(os.path.join(folder, "best.json")).get("epoch")
        scored = info.get("test_sets", {})
        if documented:
            sets = [(k, scored[k]["correct"], c) for k, (c, _) in documented["test_sets"].items() if k in scored]
            same = epoch == documented["release_epoch"] and all(a == b for _, a, b in sets)
            release = f"{name}: release epoch {epoch} (record: {documented['release_epoch']})"
            verdict, epoch_verdict = (": the record's", ": the record's epoch") if same else (
                ": differs from the record", "")
        else:
            sets = [(k, v["correct"], None) for k, v in scored.items() if k != "average"]
            release, verdict, epoch_verdict = f"{name}: release epoch {epoch}", "", ""
        if sets:
            lines.append(f"{release}; " + ", ".join(f"{k} {a}" + (f" ({b})" if b is not None else "")
                                                    for k, a, b in sets) + verdict)
        else:   # run with --no_eval (or with a --data that has none of the record's sets)
            lines.append(f"{release}; no test set scored{epoch_verdict}")
        if record.get("shipped") and scored:
            lines.append(rule_line(name, {k: (v["correct"], v["total"]) for k, v in scored.items()},
                                   {k: (c, t) for k, (c, t) in record["shipped"].items()}))
    clock = WallClock(folder)
    open_seconds = clock.open_seconds(time.time())
    if clock.spans:
        lines.append(f"{name}: {(clock.seconds + open_seconds) / 60:.0f} min of training"
                     f"{' so far' if not info else ''}"
                     + (f" (record: {documented['training_minutes']} min)" if documented else ""))
    return lines


def crop_weighted(counts: Dict[str, Tuple[int, int]], sets: Sequence[str]) -> float:
    """Accuracy (%) over the crops of ``sets`` together: what the shipping rule averages."""
    return 100 * sum(counts[s][0] for s in sets) / sum(counts[s][1] for s in sets)


def common_averages(new: Dict[str, Tuple[int, int]], old: Dict[str, Tuple[int, int]]) -> Tuple[List[str], List[float]]:
    """The :data:`TEST_SETS` both models were scored on, and their crop-weighted averages there (old, new)."""
    sets = [s for s in TEST_SETS if s in new and s in old]
    return sets, [crop_weighted(m, sets) for m in (old, new)] if sets else []


def ship_verdict(new: Dict[str, Tuple[int, int]], old: Dict[str, Tuple[int, int]]) -> Tuple[bool, List[str]]:
    """The shipping rule over :data:`TEST_SETS`: crop-weighted average >= old's, no set more than 1 point below."""
    sets, avg = common_averages(new, old)
    if not sets:
        return False, ["no test set scored by both models"]
    lines = ["| set | old | new | change |", "| --- | --- | --- | --- |"]
    ok = True
    for s in sets:
        a, b = 100 * old[s][0] / old[s][1], 100 * new[s][0] / new[s][1]
        ok &= b >= a - MAX_DROP
        lines.append(f"| {s} ({new[s][1]}) | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    ok &= avg[1] >= avg[0]
    lines.append(f"| crop-weighted average | {avg[0]:.2f} | {avg[1]:.2f} | {avg[1] - avg[0]:+.2f} |")
    return ok, lines


def rule_line(name: str, new: Dict[str, Tuple[int, int]], old: Dict[str, Tuple[int, int]]) -> str:
    """One line: a release against the shipped model by the shipping rule, from counts alone (the record keeps
    the shipped model's), with how many crops each set lacks of its 1-point line."""
    ok, _ = ship_verdict(new, old)
    sets, avg = common_averages(new, old)
    if not sets:
        return f"{name}: shipping rule: no test set scored by both models"
    short = []
    for s in sets:
        line = (old[s][0] / old[s][1] - MAX_DROP / 100) * new[s][1]     # correct crops at the 1-point line
        lacking = math.ceil(line - 1e-9) - new[s][0]
        if lacking > 0:
            short.append(f"{s} {lacking} crop{'s' if lacking > 1 else ''} short")
    return (f"{name}: shipping rule against the shipped model: {'met' if ok else 'not met'} (average "
            f"{avg[1]:.2f} vs {avg[0]:.2f}" + (f"; {', '.join(short)} of the {MAX_DROP:g}-point line" if short else "")
            + ")")


def record_stages(recipes: str, runs: str, names: Sequence[str], record: Dict) -> int:
    """``--record``: write finished stages' numbers (hold-out per epoch, release epoch, test-set counts, training
    minutes) into the recipes' ``record.json``, the documented run that later reruns are checked against."""
    stages = dict(record.get("stages", {}))
    for name in names:
        folder = os.path.join(runs, name)
        info = read_json(os.path.join(folder, "stage.json"))
        if not info:
            raise SystemExit(f"error: --record: {name} has not finished under {runs} (no stage.json)")
        scored = info.get("test_sets", {})
        if not all(s in scored for s in TEST_SETS):
            raise SystemExit(f"error: --record: {name} was not scored on {', '.join(TEST_SETS)} (run without --no_eval)")
        stages[name] = {"holdout_correct": [c for _, c in sorted(holdout_counts(folder).items())],
                        "release_epoch": read_json(os.path.join(folder, "best.json")).get("epoch"),
                        "test_sets": {s: [scored[s]["correct"], scored[s]["total"]] for s in TEST_SETS},
                        "training_minutes": round(info.get("training_seconds", 0) / 60)}
    record = dict(record, stages=dict(sorted(stages.items(), key=lambda kv: stage_number(kv[0]))))
    head = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in record.items() if k != "stages"]
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in record["stages"].items())
    utils.write_text(os.path.join(recipes, RECORD), "{\n" + ",\n".join(head + [' "stages": {\n' + body + "\n }"])
                     + "\n}\n")
    print(f"recorded {', '.join(names)} in {os.path.join(recipes, RECORD)}")
    return 0


def check_runs(recipes: str, runs: str, record: Dict) -> int:
    """``--check``: every stage begun under ``runs`` against the record, in order."""
    if not record:
        raise SystemExit(f"error: no {RECORD} in {recipes}: nothing to check against")
    names = [os.path.splitext(os.path.basename(r))[0] for r in stage_files(recipes)]
    begun = [name for name in names if os.path.isdir(os.path.join(runs, name))]
    if not begun:
        raise SystemExit(f"error: no stage has run under {runs}")
    print(f"against {os.path.join(recipes, RECORD)}: {record.get('about', '')}")
    for name in begun:
        print("\n".join(check_stage(name, os.path.join(runs, name), record)))
    return 0


SYNTHETIC = ("rendered", "synth")   # training datasets counted as "rendered" on a curve; the others are real crops


def rendered_share(recipe: str) -> float:
    """The fraction of every batch a recipe draws from synthetic words (the rest: real crops)."""
    from src.data.mix import batch_counts, mix_shares
    from src.data.pipeline import split_names

    cfg = load_config([f"--config_path={recipe}"])
    names = split_names(cfg.train_dataset)
    counts = batch_counts(mix_shares(cfg.train_mix, len(names)), cfg.batch_size) if len(names) > 1 else [cfg.batch_size]
    return sum(c for n, c in zip(names, counts) if n in SYNTHETIC) / cfg.batch_size


def chain_curve(recipes: str, runs: str) -> List[Dict[str, Any]]:
    """``--curve``: rows for ``tools/plot_curve.py`` from every stage begun under ``runs``, in order (see the
    module docstring). A stage's images count from the end of the stage before it."""
    from src.train.records import read_metrics   # imports MindSpore: only when a curve is asked for

    def read(path: str) -> List[Dict[str, Any]]:
        return read_metrics(path) if os.path.isfile(path) else []

    rows: List[Dict[str, Any]] = []
    seen = rendered = 0.0
    for recipe in stage_files(recipes):
        name = os.path.splitext(os.path.basename(recipe))[0]
        folder = os.path.join(runs, name)
        if not os.path.isdir(folder):
            break
        share = rendered_share(recipe)

        def row(images: float, dataset: str, accuracy: float) -> Dict[str, Any]:
            return {"images_seen": int(seen + images), "rendered": int(round(rendered + images * share)),
                    "real": int(round(seen - rendered + images * (1 - share))), "dataset": dataset,
                    "accuracy": round(accuracy, 4), "run": name}

        epochs = {}   # epoch -> (images seen in the stage, hold-out accuracy); a resumed run's repeat: the last
        for entry in read(os.path.join(folder, "metrics.jsonl")):
            if "epoch" in entry and entry.get("dataset") == "holdout":
                epochs[entry["epoch"]] = (entry["images_seen"], entry["accuracy"])
        extra = [e for e in read(os.path.join(folder, "curve.jsonl")) if "accuracy" in e]
        rows += [row(images, "holdout", acc) for _, (images, acc) in sorted(epochs.items())]
        rows += [row(e["images_seen"], e["dataset"], e["accuracy"]) for e in extra]
        info = read_json(os.path.join(folder, "stage.json"))
        release = read_json(os.path.join(folder, "best.json"), {}).get("epoch")
        if info and release in epochs:
            rows += [row(epochs[release][0], k, v["correct"] / v["total"])
                     for k, v in info.get("test_sets", {}).items() if k != "average"]
        if not info:   # a stage still running: the next one has not started from it
            break
        stage_images = max(images for images, _ in epochs.values()) if epochs else 0
        seen, rendered = seen + stage_images, rendered + stage_images * share
    return sorted(rows, key=lambda r: r["images_seen"])


def write_curve(recipes: str, runs: str, output: str) -> int:
    """``--curve``: :func:`chain_curve` as JSON lines in ``output``."""
    rows = chain_curve(recipes, runs)
    if not rows:
        raise SystemExit(f"error: no stage under {runs} has ended an epoch: no curve to write")
    utils.write_text(output, "".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} points ({', '.join(sorted({r['run'] for r in rows}, key=stage_number))}) in {output}; "
          f"plot: python tools/plot_curve.py {output} --dataset holdout,iiit5k,ic13,svt,ic15 --output curve.png")
    return 0
