"""Evaluate a CRNN checkpoint (or an exported model) on IIIT5K, IC03, IC13, SVT, an LMDB or an MJSynth test split.

    python eval.py --eval_dataset=iiit5k --eval_dataset_path=./IIIT5K/ --checkpoint_path=./ckpt_0/crnn-10_14110.ckpt
    python eval.py ... --decoders=greedy,beam,lex50,lex1k        # every decoding mode in one run
    python eval.py ... --model=crnn.onnx                          # an exported model (onnxruntime)
"""
import sys
import time

from src.config import load_config_or_exit

DECODER_ALIASES = {"lex50": "small", "lex1k": "medium"}


def lexicon_for(name: str, cfg, source):
    """(decoder kind, per-sample lexicons, global lexicon) for a decoder or --lexicon value."""
    from src.data.benchmarks import read_image_lexicons

    if name in ("greedy", "beam"):
        return name, None, ()
    kind = DECODER_ALIASES.get(name, name)
    if kind in ("small", "medium"):
        return "lexicon", read_image_lexicons(cfg.eval_dataset_path, kind, [source.key(i) for i in range(len(source))]), ()
    with open(kind, encoding="utf-8") as f:   # a word-list file
        return "lexicon", None, [w.strip() for w in f if w.strip()]


def main(argv=None) -> int:
    cfg = load_config_or_exit(argv, __doc__.split("\n")[0])
    from src import checkpoint
    from src.charset import Charset
    from src.data.pipeline import build_source
    from src.data.source import SourceError
    from src.engine import collect_outputs
    from src.inference import MindSporeBackend, load_exported, make_decoder
    from src.model import build_crnn
    from src.utils import setup_context, setup_logging

    log = setup_logging()
    primary = "beam" if cfg.beam_width > 1 else "greedy"
    if cfg.lexicon != "none":
        primary = cfg.lexicon
    names = [n.strip() for n in cfg.decoders.split(",") if n.strip()] or [primary]
    try:
        setup_context(cfg)
        charset = Charset.from_config(cfg)
        if cfg.model:
            backend, meta = load_exported(cfg.model)
            if meta.get("alphabet", charset.alphabet) != charset.alphabet:
                charset = Charset(meta["alphabet"], meta.get("case_sensitive", False))
        elif cfg.checkpoint_path:
            net = build_crnn(cfg, charset.num_classes)
            checkpoint.load_into(net, cfg.checkpoint_path, charset.alphabet)
            backend = MindSporeBackend(net)
        else:
            raise ValueError("no --checkpoint_path (or --model) given")
        source = build_source(cfg.eval_dataset, cfg.eval_dataset_path, cfg, charset, training=False)
        log.info(source.summary())
        decoders = {}
        for name in names:
            kind, per_image, words = lexicon_for(name, cfg, source)
            decoders[name] = make_decoder(kind, charset, max(cfg.beam_width, 10) if kind == "beam" else 1,
                                          per_image, words, cfg.lexicon_delta)
        start = time.time()
        outputs = collect_outputs(backend, source, cfg.eval_batch_size, cfg.num_parallel_workers)
        net_seconds = time.time() - start
    except (SourceError, checkpoint.CheckpointError, RuntimeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    n = len(outputs.keys)
    if outputs.readable.count(False):
        log.warning("%d unreadable images counted as errors", outputs.readable.count(False))
    print(f"dataset={cfg.eval_dataset} total={n} unreadable={outputs.readable.count(False)} "
          f"network_images_per_s={n / net_seconds:.1f}")
    result = None
    for name, decoder in decoders.items():
        start = time.time()
        result, _ = outputs.score(decoder, charset.case_sensitive)
        rate = n / max(time.time() - start, 1e-9)
        print(f"decoder={name} correct={result.correct} total={result.total} decode_images_per_s={rate:.0f} "
              f"accuracy={result.accuracy:.4f}")
    if cfg.save_predictions:
        with open(cfg.save_predictions, "w", encoding="utf-8") as f:
            f.write("image\tlabel\tprediction\tcorrect\n")
            for key, label, pred, ok in result.records:
                f.write(f"{key}\t{label}\t{pred}\t{int(ok)}\n")
        log.info("predictions (%s) written to %s", names[-1], cfg.save_predictions)
    print(f"accuracy={result.accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
