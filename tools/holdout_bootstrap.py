"""Can the hold-out rank a run's epochs? A paired bootstrap over its crops, as a table (docs/training_log.md).

    python tools/holdout_bootstrap.py runs/reproduce/stage7 runs/reproduce/stage8
    python tools/holdout_bootstrap.py --score runs/s6_epochs/crnn-*_505.ckpt \\
        --holdout runs/reproduce/stage6/holdout.tsv --output runs/s6_scores

A run folder is read from its ``holdout_scores.jsonl`` (train.py writes every epoch's per-crop scores there).
``--score`` scores epoch checkpoints of a run that has none (the crops of its ``holdout.tsv``, greedy),
writes them as ``OUTPUT/holdout_scores.jsonl`` and reports on that folder. For each run and statistic (exact
match, 1-NED): the epochs' range, the median paired standard error of a difference between two epochs, the
whole hold-out's pick, how often resamples of the crops pick it too, and the ``latest_not_worse`` pick.
"""
import argparse
import os
import sys
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STATISTICS = {"word": "exact match", "char": "1-NED"}


def score_checkpoints(paths: List[str], holdout: str, output: str) -> None:
    """Per-crop greedy scores of each checkpoint on ``holdout`` (a label list), one line per epoch."""
    from src import checkpoint
    from src.config import load_config
    from src.data.pipeline import SourceOptions
    from src.evaluation.scoring import greedy_result
    from src.serve.recognizer import Recognizer
    from src.train.records import HOLDOUT_SCORES, RunRecords, read_holdout_scores

    cfg = load_config([])
    records = RunRecords(output)
    done = set(read_holdout_scores(output))
    for path in paths:
        epoch = int(checkpoint.read(path)[1].get("epoch_num", 0))
        if epoch in done:
            print(f"{os.path.basename(path)}: epoch {epoch} already in {os.path.join(output, HOLDOUT_SCORES)}")
            continue
        recognizer = Recognizer.from_checkpoint(path, backend="auto", batch_size=cfg.eval_batch_size)
        options = recognizer.source_options(SourceOptions.from_config(cfg))
        result = greedy_result(recognizer.backend, recognizer.charset, "list", holdout, options,
                               cfg.eval_batch_size, cfg.num_parallel_workers, name="holdout").decoders["greedy"]
        records.record_holdout_scores(epoch, result.per_crop())
        done.add(epoch)
        print(f"{os.path.basename(path)}: epoch {epoch} holdout {result.correct}/{result.total}, "
              f"1-NED {result.char_accuracy:.4f}", flush=True)


def table(folders: List[str], resamples: int, seed: int) -> List[str]:
    """Markdown rows: one per run folder and statistic."""
    from src.errors import UsageError
    from src.evaluation.stability import paired_bootstrap
    from src.train.records import latest_not_worse, read_holdout_scores

    rows = ["| run | statistic | epochs | epochs' range | paired SE of a difference | whole hold-out's pick "
            "| same pick in resamples | latest not worse |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for folder in folders:
        scores = read_holdout_scores(folder)
        if not scores:
            raise UsageError(f"{folder} has no holdout_scores.jsonl (a run with a hold-out writes one; "
                             "score the epoch checkpoints of an older run with --score)")
        for key, name in STATISTICS.items():
            epochs: Dict[int, List[float]] = {e: s[key] for e, s in scores.items() if key in s}
            if not epochs:
                continue
            try:
                st = paired_bootstrap(epochs, resamples, seed)
            except UsageError as err:
                raise UsageError(f"{folder}: {err}") from None
            rows.append(f"| {os.path.basename(os.path.normpath(folder))} | {name} | {len(st.epochs)} | "
                        f"{100 * min(st.means):.1f}–{100 * max(st.means):.1f} | {100 * st.paired_se:.2f} | "
                        f"epoch {st.pick} | {100 * st.same_pick:.0f}% | epoch {latest_not_worse(epochs)[0]} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("runs", nargs="*", help="run folders holding holdout_scores.jsonl")
    parser.add_argument("--score", nargs="+", default=[], metavar="CKPT", help="epoch checkpoints to score first")
    parser.add_argument("--holdout", help="the run's holdout.tsv (with --score)")
    parser.add_argument("--output", help="folder for the scores of --score (its holdout_scores.jsonl)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.score and not (args.holdout and args.output):
        parser.error("--score needs --holdout (the run's holdout.tsv) and --output (a folder for the scores)")
    if not args.score and not args.runs:
        parser.error("give run folders, or --score checkpoints with --holdout and --output")

    from src.errors import CrnnError
    from src.utils import setup_logging

    setup_logging()
    try:
        if args.score:
            score_checkpoints(args.score, args.holdout, args.output)
        rows = table(args.runs + ([args.output] if args.score else []), args.resamples, args.seed)
    except CrnnError as err:  # a checkpoint, label list or run folder it cannot read; anything else is a bug
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
