"""Draw a training run's metrics.jsonl as one PNG: loss, learning rate, images/s and every evaluated set's accuracy
(hold-out included) against images seen. Works on a running run; train.py also writes it when a run ends.

    python tools/plot_run.py runs/reproduce/stage1                 # writes runs/reproduce/stage1/metrics.png
    python tools/plot_run.py runs/cpu1/metrics.jsonl --output cpu1.png
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("run", help="a run folder (its metrics.jsonl) or a metrics.jsonl file")
    parser.add_argument("--output", default="", help="PNG to write (default: metrics.png beside metrics.jsonl)")
    args = parser.parse_args(argv)
    from src.train.records import plot_metrics

    path = os.path.join(args.run, "metrics.jsonl") if os.path.isdir(args.run) else args.run
    if not os.path.isfile(path):
        print(f"error: no metrics.jsonl at {path}", file=sys.stderr)
        return 1
    output = args.output or os.path.join(os.path.dirname(path), "metrics.png")
    if not plot_metrics(path, output):
        print(f"error: {path} has no step or evaluation record yet", file=sys.stderr)
        return 1
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
