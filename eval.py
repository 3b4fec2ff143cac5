"""Evaluate a CRNN checkpoint (or an exported model) on IIIT5K, IC03, IC13, IC15, SVT, a label list,
an LMDB or an MJSynth test split — or on every benchmark under a folder.

    python eval.py --eval_dataset=iiit5k --eval_dataset_path=./IIIT5K/ --checkpoint_path=./ckpt_0/crnn-10_14110.ckpt
    python eval.py ... --decoders=greedy,beam:10,lexicon:50,lexicon:1k   # several decoders in one run
    python eval.py ... --model=crnn.onnx                          # an exported model (onnxruntime)
    python eval.py --eval_dataset=all --eval_dataset_path=../shared/data --checkpoint_path=...   # every set
    python eval.py ... --report=report/ [--compare_checkpoint_path=other.ckpt]   # an HTML report to look at
"""
import sys
from typing import TYPE_CHECKING, List, Tuple

from src.config import load_config_or_exit

if TYPE_CHECKING:
    from src.evaluation.scoring import Prediction


def load_recognizer(cfg, checkpoint_path: str = ""):
    """The one Recognizer from --model or --checkpoint_path (or ``checkpoint_path``), built from the model's own
    spec; a model flag given here must agree with it (the resizing may differ: it overrides)."""
    from src.errors import UsageError
    from src.serve.recognizer import Recognizer
    from src.spec import explicit_model_flags

    flags = explicit_model_flags(cfg)
    if cfg.model and not checkpoint_path:
        recognizer = Recognizer.from_exported(cfg.model, alphabet=flags.get("alphabet"),
                                              interpolation=cfg.resize_interpolation or None, turn_tall=cfg.turn_tall)
    elif checkpoint_path or cfg.checkpoint_path:
        size = (cfg.image_height, cfg.image_width) if {"image_height", "image_width"} & set(flags) else None
        recognizer = Recognizer.from_checkpoint(
            checkpoint_path or cfg.checkpoint_path, alphabet=flags.get("alphabet"), case_sensitive=flags.get("case_sensitive"),
            hidden_size=flags.get("hidden_size"), image_size=size, device_target=cfg.device_target,
            backend=cfg.backend, interpolation=cfg.resize_interpolation or None,
            keep_aspect_ratio=flags.get("keep_aspect_ratio"), batch_size=cfg.eval_batch_size, turn_tall=cfg.turn_tall)
    else:
        raise UsageError("no --checkpoint_path (or --model) given")
    return recognizer


def write_predictions(path: str, rows: List[Tuple[str, "Prediction"]], with_set: bool) -> None:
    """One line per sample: the word, its sequence confidence, its weakest character's probability and every
    character's (comma-separated, in the prediction's order; :mod:`src.decoding.confidence`)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(("set\t" if with_set else "") + "image\tlabel\tprediction\tcorrect\tconfidence\tmin_char_prob\tchar_probs\n")
        for set_name, p in rows:
            cells = ([set_name] if with_set else []) + [p.image, p.label, p.text, str(int(p.correct)),
                                                        f"{p.confidence:.4f}", f"{p.min_char_prob:.4f}",
                                                        ",".join(f"{c.prob:.4f}" for c in p.chars)]
            f.write("\t".join(cells) + "\n")


def main(argv=None) -> int:
    cfg = load_config_or_exit(argv, __doc__.split("\n")[0])
    from src.errors import CrnnError, UsageError
    from src.data.pipeline import SourceOptions
    from src.decoding.spec import specs_from_config
    from src.evaluation.scoring import build_shared_decoders, discover_sets, evaluate_set, format_line, results_table, summary_lines
    from src.utils import setup_context, setup_logging

    log = setup_logging()
    many = cfg.eval_dataset == "all"
    try:
        if cfg.compare_checkpoint_path and not cfg.report:
            raise UsageError("--compare_checkpoint_path shows its differences in the report: add --report=DIR")
        specs = specs_from_config(cfg)
        names = [str(spec) for spec in specs]
        setup_context(cfg)
        recognizer = load_recognizer(cfg)
        backend, charset = recognizer.backend, recognizer.charset
        options = recognizer.source_options(SourceOptions.from_config(cfg))
        sets = discover_sets(cfg.eval_dataset_path) if many else [(cfg.eval_dataset, cfg.eval_dataset, cfg.eval_dataset_path)]
        shared = build_shared_decoders(specs, charset)
        results, rows = [], []
        details = bool(cfg.report)
        for set_name, kind, path in sets:
            result = evaluate_set(backend, charset, kind, path, specs, shared, options, cfg.eval_batch_size,
                                  cfg.num_parallel_workers, name=set_name, optional_decoders=many, details=details,
                                  turn_tall=recognizer.turn_tall)
            results.append(result)
            rows += [(set_name, p) for p in result.predictions[list(result.decoders)[-1]]]
            if many:
                for i, (dec, metric) in enumerate(result.decoders.items()):
                    print(format_line(set_name if i == 0 else f"{set_name}/{dec}", metric), flush=True)
                for subset, per_decoder in result.subsets.items():
                    for i, (dec, metric) in enumerate(per_decoder.items()):
                        print(format_line(subset if i == 0 else f"{subset}/{dec}", metric), flush=True)
        other = compare_results(cfg, sets, specs, many) if cfg.compare_checkpoint_path else None
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
                  f"decode_images_per_s={result.decode_images_per_s[dec]:.0f} accuracy={metric.accuracy:.4f} "
                  f"char_accuracy={metric.char_accuracy:.4f}")
        for subset, per_decoder in result.subsets.items():
            for dec, metric in per_decoder.items():
                print(f"subset={subset} decoder={dec} correct={metric.correct} total={metric.total} "
                      f"accuracy={metric.accuracy:.4f}")
        print(f"accuracy={list(result.decoders.values())[-1].accuracy:.4f}")
    if cfg.save_predictions:
        write_predictions(cfg.save_predictions, rows, many)
        log.info("predictions (%s) written to %s", names[-1], cfg.save_predictions)
    if cfg.report:
        from src.evaluation.report import write_report

        page = write_report(cfg.report, results, model=cfg.model or cfg.checkpoint_path, compare=other,
                            max_errors=cfg.report_max_errors)
        print(f"report: {page}")
    return 0


def compare_results(cfg, sets, specs, many: bool):
    """The second model's results on the same sets (``--compare_checkpoint_path``), for the report."""
    from src.data.pipeline import SourceOptions
    from src.evaluation.report import Comparison
    from src.evaluation.scoring import build_shared_decoders, evaluate_set

    recognizer = load_recognizer(cfg, cfg.compare_checkpoint_path)
    options = recognizer.source_options(SourceOptions.from_config(cfg))
    shared = build_shared_decoders(specs, recognizer.charset)
    results = [evaluate_set(recognizer.backend, recognizer.charset, kind, path, specs, shared, options,
                            cfg.eval_batch_size, cfg.num_parallel_workers, name=name, optional_decoders=many,
                            details=True, turn_tall=recognizer.turn_tall) for name, kind, path in sets]
    return Comparison(cfg.compare_checkpoint_path, results)


if __name__ == "__main__":
    sys.exit(main())
