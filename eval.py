"""Evaluate a CRNN checkpoint on IIIT5K, IC03, IC13, SVT or an MJSynth test split.

    python eval.py --eval_dataset=iiit5k --eval_dataset_path=./IIIT5K/ --checkpoint_path=./ckpt_0/crnn-10_14110.ckpt
"""
import sys
import time

from src.config import ConfigError, load_config


def main(argv=None) -> int:
    try:
        cfg = load_config(argv, description=__doc__.split("\n")[1])
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from src import checkpoint
    from src.charset import Charset
    from src.data.pipeline import build_source
    from src.data.source import SourceError
    from src.engine import evaluate
    from src.model import build_crnn
    from src.utils import setup_context, setup_logging

    log = setup_logging()
    try:
        if not cfg.checkpoint_path:
            raise ValueError("no --checkpoint_path given")
        setup_context(cfg)
        charset = Charset.from_config(cfg)
        source = build_source(cfg.eval_dataset, cfg.eval_dataset_path, cfg, charset, training=False)
        log.info(source.summary())
        net = build_crnn(cfg, charset.num_classes)
        checkpoint.load_into(net, cfg.checkpoint_path, charset.alphabet)
        net.set_train(False)
        start = time.time()
        result = evaluate(net, source, charset, cfg.eval_batch_size, cfg.num_parallel_workers)
        elapsed = time.time() - start
    except (SourceError, checkpoint.CheckpointError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if cfg.save_predictions:
        with open(cfg.save_predictions, "w", encoding="utf-8") as f:
            f.write("image\tlabel\tprediction\tcorrect\n")
            for name, label, pred, ok in result.records:
                f.write(f"{name}\t{label}\t{pred}\t{int(ok)}\n")
        log.info("predictions written to %s", cfg.save_predictions)
    if result.unreadable:
        log.warning("%d unreadable images counted as errors", result.unreadable)
    print(f"dataset={cfg.eval_dataset} correct={result.correct} total={result.total} "
          f"unreadable={result.unreadable} images_per_s={result.total / elapsed:.1f}")
    print(f"accuracy={result.accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
