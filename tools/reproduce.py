"""Reproduce the model of a recipe chain: run every stage in order, pick each on the train hold-out, release.

    bash scripts/reproduce.sh                          # every stage of configs/reproduce/, data in ../shared/data
    bash scripts/reproduce.sh --stages=1               # the first stage only (1 h 41 min on 2 idle cores)
    bash scripts/reproduce.sh --data=/data/benchmarks --runs=/scratch/reproduce
    bash scripts/reproduce.sh --check                  # the stages run so far against the documented run
    bash scripts/reproduce.sh --curve=runs/chain.jsonl # hold-out per epoch, test sets per release, for plot_curve.py
    bash scripts/reproduce.sh --recipes=configs/ablation/adam_chain --runs=runs/adam_chain   # the Adam chain

Stage N is ``python train.py --config_path=configs/reproduce/stageN.yaml --resume=auto`` in ``RUNS/stageN``,
started from stage N-1's release (``--pretrained``). Its release is the network of the epoch the hold-out picks
(``best.ckpt``, by the recipe's ``holdout_pick``; the hold-out: 5% of the real *train* crops, never a test
image), written as ``RUNS/stageN/release.ckpt`` and scored on every test set under ``--data`` for the record (``stage.json``).
``--stages=N --start_from=RELEASE`` runs stage N from a release made elsewhere (another machine, an
earlier run folder) instead of ``RUNS/stage{N-1}``. A stage with a ``stage.json`` is done and skipped; an
interrupted stage resumes where it stopped (its training wall clock adds every sitting: ``wallclock.json``).
The last stage's release is copied to ``RUNS/release.ckpt``; ``--compare`` scores a second model (default:
the shipped one) and applies the shipping rule: crop-weighted average at least the old one's, no set more
than 1 point below. ``record.json`` beside the recipes holds the documented run's numbers; each finished stage
is compared with it, and ``--check`` compares every stage begun so far without training; ``--record=stageN``
writes a finished stage's numbers into it (for whoever documents a new run). ``--curve=OUT`` writes the chain's
learning curve: every stage's hold-out after each epoch and its release's test sets, against the images seen
since the first stage's first step, rendered words and real crops counted apart (each recipe's per-batch share);
a stage folder's ``curve.jsonl`` (``tools/eval_curve.py`` on its checkpoints) adds its points. Those three read
run folders without training: they live in ``tools/chain_runs.py``, with the shipping rule.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from chain_runs import (RECORD, WallClock, check_runs, check_stage, holdout_best, read_json,  # noqa: E402
                        record_stages, ship_verdict, stage_files, stage_number, write_curve)
from src import utils  # noqa: E402
from src.config import load_config  # noqa: E402

RESULT_LINE = re.compile(r"^(\w+): accuracy=([0-9.]+) correct=(\d+) total=(\d+)(?: char_accuracy=[0-9.]+)?$")


def data_paths(recipe: str, data: str) -> str:
    """The stage's ``train_dataset_path`` with each folder moved under ``data`` (rendered entries stay empty)."""
    paths = load_config([f"--config_path={recipe}"]).train_dataset_path.split(",")
    return ",".join(os.path.join(data, os.path.basename(p.rstrip("/"))) if p else "" for p in paths)


def run(cmd: Sequence[str], log_path: Optional[str] = None) -> str:
    """Run ``cmd`` in the project folder, echo and return its output; stop the chain if it fails."""
    print("+ " + " ".join(cmd), flush=True)
    out = []
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        log = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else None  # line by line: watch it run
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            out.append(line)
            if log:
                log.write(line)
        if log:
            log.close()
    if proc.returncode != 0:
        raise SystemExit(f"error: {cmd[1]} exited with {proc.returncode}; run the same command again to resume")
    return "".join(out)


def score(python: str, checkpoint: str, data: str) -> Dict[str, Tuple[int, int]]:
    """(correct, total) per test set under ``data`` (greedy), from eval.py's accuracy lines."""
    out = run([python, "eval.py", "--eval_dataset=all", f"--eval_dataset_path={data}", f"--checkpoint_path={checkpoint}",
               "--decoders=greedy"])
    results = {}
    for line in out.splitlines():
        m = RESULT_LINE.match(line.strip().split(" INFO ")[-1])
        if m:
            results[m.group(1)] = (int(m.group(3)), int(m.group(4)))
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"),
                        help="folder with the IC15/SVT train crops and the test sets (the ../shared/data layout)")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "reproduce"), help="where the stages run")
    parser.add_argument("--recipes", default=os.path.join(ROOT, "configs", "reproduce"), help="the stage yamls")
    parser.add_argument("--stages", default="", help="comma-separated stage numbers (default: all, in order)")
    parser.add_argument("--compare", default=os.path.join(ROOT, "checkpoints", "crnn_cpu.ckpt"),
                        help="the model the result is compared with by the shipping rule ('' to skip)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--start_from", default="",
                        help="the release the first of --stages starts from (default: the previous stage's, under --runs)")
    parser.add_argument("--no_eval", action="store_true", help="skip scoring the test sets (hold-out only)")
    parser.add_argument("--check", action="store_true",
                        help="compare every stage run so far under --runs with the recipes' record.json, train nothing")
    parser.add_argument("--curve", default="", metavar="OUT",
                        help="write the chain's learning curve (JSON lines) from the stages under --runs, train nothing")
    parser.add_argument("--record", default="",
                        help="stage names (stage3,stage4): write their finished runs under --runs into record.json")
    args, extra = parser.parse_known_args(argv)   # anything else goes to every train.py (e.g. --max_steps=2)
    documented = read_json(os.path.join(args.recipes, RECORD))
    if args.check:
        return check_runs(args.recipes, args.runs, documented)
    if args.curve:
        return write_curve(args.recipes, args.runs, args.curve)
    if args.record:
        return record_stages(args.recipes, args.runs, [n.strip() for n in args.record.split(",") if n.strip()],
                             documented)
    data = os.path.abspath(args.data)
    wanted = {int(s) for s in args.stages.split(",") if s.strip()}
    missing = sorted({p for r in stage_files(args.recipes) if not wanted or stage_number(r) in wanted
                      for p in data_paths(r, data).split(",") if p and not os.path.isdir(p)})
    if missing:
        raise SystemExit(f"error: --data={args.data} has no {' or '.join(os.path.basename(m) for m in missing)} "
                         "folder: the stages train on those crops (--data is a folder in the ../shared/data layout)")
    release = None
    if args.start_from:
        if not wanted:
            raise SystemExit("error: --start_from needs --stages (the stage(s) to run from it)")
        if not os.path.isfile(args.start_from):
            raise SystemExit(f"error: --start_from: no such checkpoint: {args.start_from}")
        release = os.path.abspath(args.start_from)
    for recipe in stage_files(args.recipes):
        name = os.path.splitext(os.path.basename(recipe))[0]
        folder = os.path.abspath(os.path.join(args.runs, name))
        record = os.path.join(folder, "stage.json")
        number = stage_number(recipe)
        if wanted and number not in wanted:
            if args.start_from or number > max(wanted):
                continue
            if not os.path.isfile(record):
                raise SystemExit(f"error: {name} has not run yet ({record} missing): the later stages start "
                                 "from it (or give its release with --start_from)")
        if os.path.isfile(record):
            print(f"{name}: done ({record}), skipped", flush=True)
            release = os.path.join(folder, "release.ckpt")
            continue
        os.makedirs(folder, exist_ok=True)
        cmd = [args.python, "train.py", f"--config_path={os.path.abspath(recipe)}",
               f"--save_checkpoint_path={folder}", "--resume=auto", f"--train_dataset_path={data_paths(recipe, data)}"]
        if release:
            cmd.append(f"--pretrained={release}")
        clock = WallClock(folder)
        clock.start(time.time())
        run(cmd + extra, os.path.join(folder, "train.log"))
        clock.stop(time.time())
        best = os.path.join(folder, "best.ckpt")
        if not os.path.isfile(best):
            raise SystemExit(f"error: {name} wrote no {best}: no epoch ended with a hold-out evaluation "
                             "(the recipe needs holdout_fraction > 0 and a whole epoch to run)")
        release = os.path.join(folder, "release.ckpt")
        run([args.python, "tools/release_checkpoint.py", f"--checkpoint_path={best}", f"--output={release}"])
        sets = {} if args.no_eval else score(args.python, release, data)
        info = {"recipe": os.path.abspath(recipe), "training_seconds": round(clock.seconds),
                "sittings": len(clock.spans),
                "holdout_accuracy": holdout_best(folder), "release": release,
                "test_sets": {k: {"correct": c, "total": t} for k, (c, t) in sets.items()}}
        utils.write_json(record, info, indent=2)
        print(f"{name}: hold-out {info['holdout_accuracy']}, {clock.seconds / 60:.0f} min of training; "
              + ", ".join(f"{k} {100 * c / t:.2f}" for k, (c, t) in sets.items()), flush=True)
        for line in check_stage(name, folder, documented):
            print(line, flush=True)
    if release is None:
        raise SystemExit("error: no stage ran")
    final = os.path.join(os.path.abspath(args.runs), "release.ckpt")
    shutil.copyfile(release, final)
    print(f"release: {final}")
    if args.compare and not args.no_eval:
        info = read_json(os.path.join(os.path.dirname(release), "stage.json"))
        new = {k: (v["correct"], v["total"]) for k, v in info.get("test_sets", {}).items()}
        ok, lines = ship_verdict(new, score(args.python, args.compare, data))
        print("\n".join(lines))
        print(f"shipping rule ({args.compare}): {'met: cp ' + final + ' checkpoints/crnn_cpu.ckpt' if ok else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
