"""Evaluate a CRNN checkpoint (or an exported model) on IIIT5K, IC03, IC13, IC15, SVT, a label list,
an LMDB or an MJSynth test split — or on every benchmark under a folder.

    python eval.py --eval_dataset=iiit5k --eval_dataset_path=./IIIT5K/ --checkpoint_path=./ckpt_0/crnn-10_14110.ckpt
    python eval.py ... --decoders=greedy,beam:10,lexicon:50,lexicon:1k   # several decoders in one run
    python eval.py ... --model=crnn.onnx                          # an exported model (onnxruntime)
    python eval.py --eval_dataset=all --eval_dataset_path=../shared/data --checkpoint_path=...   # every set
"""
import sys
from typing import List

from src.config import load_config_or_exit


def load_recognizer(cfg):
    """The one Recognizer from --model or --checkpoint_path, built from the model's own spec; a model flag
    given here must agree with it (the resizing may differ: it overrides)."""
    from src.errors import UsageError
    from src.serve.recognizer import Recognizer
    from src.spec import explicit_model_flags

    flags = explicit_model_flags(cfg)
    if cfg.model:
        recognizer = Recognizer.from_exported(cfg.model, alphabet=flags.get("alphabet"),
                                              interpolation=cfg.resize_interpolation or None)
    elif cfg.checkpoint_path:
        size = (cfg.image_height, cfg.image_width) if {"image_height", "image_width"} & set(flags) else None
        recognizer = Recognizer.from_checkpoint(
            cfg.checkpoint_path, alphabet=flags.get("alphabet"), case_sensitive=flags.get("case_sensitive"),
            hidden_size=flags.get("hidden_size"), image_size=size, device_target=cfg.device_target,
            backend=cfg.backend, interpolation=cfg.resize_interpolation or None,
            keep_aspect_ratio=flags.get("keep_aspect_ratio"), batch_size=cfg.eval_batch_size)
    else:
        raise UsageError("no --checkpoint_path (or --model) given")
    return recognizer


def write_predictions(path: str, rows: List[tuple], with_set: bool) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(("set\t" if with_set else "") + "image\tlabel\tprediction\tcorrect\tconfidence\n")
        for *row, confidence in rows:
            f.write("\t".join([str(int(v)) if isinstance(v, bool) else str(v) for v in row] + [f"{confidence:.4f}"])
                    + "\n")


def main(argv=None) -> int:
    cfg = load_config_or_exit(argv, __doc__.split("\n")[0])
    from src.errors import CrnnError
    from src.data.pipeline import SourceOptions
    from src.decoding.spec import specs_from_config
    from src.evaluation.scoring import build_shared_decoders, discover_sets, evaluate_set, format_line, results_table, summary_lines
    from src.utils import setup_context, setup_logging

    log = setup_logging()
    many = cfg.eval_dataset == "all"
    try:
        specs = specs_from_config(cfg)
        names = [str(spec) for spec in specs]
        setup_context(cfg)
        recognizer = load_recognizer(cfg)
        backend, charset = recognizer.backend, recognizer.charset
        options = recognizer.source_options(SourceOptions.from_config(cfg))
        sets = discover_sets(cfg.eval_dataset_path) if many else [(cfg.eval_dataset, cfg.eval_dataset, cfg.eval_dataset_path)]
        shared = build_shared_decoders(specs, charset)
        results, rows = [], []
        for set_name, kind, path in sets:
            result, records = evaluate_set(backend, charset, kind, path, specs, shared, options, cfg.eval_batch_size,
                                           cfg.num_parallel_workers, name=set_name, optional_decoders=many)
            results.append(result)
            rows += [((set_name,) if many else ()) + tuple(r) for r in records]
            if many:
                for i, (dec, metric) in enumerate(result.decoders.items()):
                    print(format_line(set_name if i == 0 else f"{set_name}/{dec}", metric), flush=True)
                for subset, per_decoder in result.subsets.items():
                    for i, (dec, metric) in enumerate(per_decoder.items()):
                        print(format_line(subset if i == 0 else f"{subset}/{dec}", metric), flush=True)
    except (CrnnError, OSError) as err:  # anything else is a bug: keep its traceback
        print(f"error: {err}", file=sys.stderr)
        return 1
    if many:
        for dec in names:
            for line in summary_lines(results, dec):
                print(line)
        print(f"\n{results_table(results, names[0])}")
    else:
        result = results[0]
        if result.unreadable:
            log.warning("%d unreadable images counted as errors", result.unreadable)
        print(f"dataset={cfg.eval_dataset} total={result.total} unreadable={result.unreadable} "
              f"network_images_per_s={result.network_images_per_s:.1f}")
        for dec, metric in result.decoders.items():
            print(f"decoder={dec} correct={metric.correct} total={metric.total} "
                  f"decode_images_per_s={result.decode_images_per_s[dec]:.0f} accuracy={metric.accuracy:.4f}")
        for subset, per_decoder in result.subsets.items():
            for dec, metric in per_decoder.items():
                print(f"subset={subset} decoder={dec} correct={metric.correct} total={metric.total} "
                      f"accuracy={metric.accuracy:.4f}")
        print(f"accuracy={list(result.decoders.values())[-1].accuracy:.4f}")
    if cfg.save_predictions:
        write_predictions(cfg.save_predictions, rows, many)
        log.info("predictions (%s) written to %s", names[-1], cfg.save_predictions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
