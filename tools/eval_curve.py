"""Per-set learning curve: evaluate a run's checkpoints on every benchmark under a folder.

    python tools/eval_curve.py runs/real1/ckpt_0/crnn-*_500.ckpt --data ../shared/data --images_per_step 32 \\
        --output runs/real1/curve.jsonl
    python tools/plot_curve.py runs/real1/curve.jsonl --dataset iiit5k,ic13,ic15,svt --output curve.png

Each checkpoint's training step (its metadata) times ``--images_per_step`` (batch x devices) gives
the images seen; ``--offset`` adds the images of the runs it was fine-tuned from. Appends one
``{"images_seen", "dataset", "accuracy", "checkpoint"}`` line per set (greedy decoding).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from src.config import CHOICES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data", required=True, help="folder holding the benchmark folders (as eval.py --eval_dataset=all)")
    parser.add_argument("--images_per_step", type=int, required=True)
    parser.add_argument("--offset", type=int, default=0, help="images seen before this run (earlier runs)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--resize_interpolation", default="", choices=CHOICES["resize_interpolation"],
                        help="resizing (default: each checkpoint's own, bilinear when it does not say)")
    args = parser.parse_args()

    from src import checkpoint
    from src.config import load_config
    from src.data.source import SourceError
    from src.data.pipeline import SourceOptions
    from src.evaluation.scoring import discover_sets, greedy_result
    from src.serve.recognizer import Recognizer
    from src.utils import setup_logging

    setup_logging()
    cfg = load_config([])
    try:
        sets = discover_sets(args.data)
        for path in args.checkpoints:
            meta = checkpoint.read(path)[1]
            seen = args.offset + int(meta.get("global_step_num", 0)) * args.images_per_step
            recognizer = Recognizer.from_checkpoint(path, backend="auto", batch_size=cfg.eval_batch_size,
                                                    interpolation=args.resize_interpolation or None)
            options = recognizer.source_options(SourceOptions.from_config(cfg))
            for name, kind, root in sets:
                result = greedy_result(recognizer.backend, recognizer.charset, kind, root, options,
                                       cfg.eval_batch_size, cfg.num_parallel_workers, name=name)
                rows = [(name, result.decoders["greedy"])] + [(k, v["greedy"]) for k, v in result.subsets.items()]
                with open(args.output, "a", encoding="utf-8") as f:
                    for set_name, metric in rows:
                        f.write(json.dumps({"images_seen": seen, "dataset": set_name, "accuracy": metric.accuracy,
                                            "checkpoint": os.path.basename(path)}) + "\n")
                        print(f"{os.path.basename(path)} images_seen={seen} {set_name}: accuracy={metric.accuracy:.4f}",
                              flush=True)
    except (SourceError, checkpoint.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
