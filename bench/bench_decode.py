"""Speed and accuracy of each CTC decoder on the IIIT5K network outputs (computed once, then cached).

    python bench/bench_decode.py --checkpoint_path checkpoints/crnn_cpu.ckpt

Needs an IIIT5K folder with annotation.txt and lexicon_small/medium.txt
(``convert_iiit5k.py -m testdata.mat -o DIR -a DIR/annotation.txt --lexicons``); by default
they are written to a temporary folder from ../shared/data/IIIT5K. Prints, for greedy, beam
(width 10) and the 50- and 1k-word lexicons: accuracy and images/s, next to the network's
own images/s. Asserts nothing.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)
from src.data.benchmarks import SHARED_IIIT5K  # noqa: E402
from src.serve.recognizer import SHIPPED_CHECKPOINT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--checkpoint_path", default=SHIPPED_CHECKPOINT)
    parser.add_argument("--data", default=SHARED_IIIT5K)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "crnn_iiit5k_outputs.npz"))
    parser.add_argument("--beam_width", type=int, default=10)
    args = parser.parse_args()

    import numpy as np

    from src import checkpoint
    from src.charset import Charset
    from src.config import load_config
    from src.data.benchmarks import BenchmarkSource, read_image_lexicons
    from src.data.pipeline import SourceOptions
    from src.data.transforms import model_interpolation
    from src.evaluation.scoring import Outputs, collect_outputs
    from src.decoding import build_decoder
    from src.serve.recognizer import Recognizer

    root = args.data
    if not os.path.isfile(os.path.join(root, "lexicon_medium.txt")):
        tmp = tempfile.mkdtemp()
        os.symlink(os.path.abspath(os.path.join(root, "test")), os.path.join(tmp, "test"))
        subprocess.run([sys.executable, "convert_iiit5k.py", "-m", os.path.join(root, "testdata.mat"), "-o", tmp,
                        "-a", os.path.join(tmp, "annotation.txt"), "--lexicons"], cwd=ROOT, check=True,
                       capture_output=True)
        root = tmp
    cfg = load_config([])
    charset = Charset.from_config(cfg)
    trained_with = model_interpolation(meta=checkpoint.read(args.checkpoint_path)[1])
    options = dataclasses.replace(SourceOptions.from_config(cfg), interpolation=trained_with)  # as eval.py does
    source = BenchmarkSource("iiit5k", root, **options.source_kwargs(charset))
    keys = [source.key(i) for i in range(len(source))]
    stamp = f"{os.path.abspath(args.checkpoint_path)}:{os.path.getmtime(args.checkpoint_path)}:{trained_with}"
    if os.path.isfile(args.cache) and str(np.load(args.cache)["stamp"]) == stamp:
        data = np.load(args.cache)
        outputs = Outputs(keys, [source.label(i) for i in range(len(source))], list(data["readable"]),
                          list(data["log_probs"]))
        net_rate = float(data["net_rate"])
    else:
        recognizer = Recognizer.from_checkpoint(args.checkpoint_path, charset.alphabet, batch_size=64)
        start = time.perf_counter()
        outputs = collect_outputs(recognizer.backend, source, 64, 1, progress=False)
        net_rate = len(keys) / (time.perf_counter() - start)
        np.savez(args.cache, stamp=stamp, readable=np.array(outputs.readable),
                 log_probs=np.stack(outputs.log_probs), net_rate=net_rate)
    decoders = {
        "greedy": build_decoder("greedy", charset),
        f"beam:{args.beam_width}": build_decoder(f"beam:{args.beam_width}", charset),
        "lexicon:50": build_decoder("lexicon:50", charset, per_image=read_image_lexicons(root, "small", keys)),
        "lexicon:1k": build_decoder("lexicon:1k", charset, per_image=read_image_lexicons(root, "medium", keys)),
    }
    print(f"images={len(keys)} network (MindSpore CPU, batch 64, incl. data loading): {net_rate:.1f} img/s")
    for name, decoder in decoders.items():
        start = time.perf_counter()
        metric, _ = outputs.score(decoder, charset.case_sensitive)
        rate = len(keys) / (time.perf_counter() - start)
        print(f"decoder={name:8s} accuracy={metric.accuracy:.4f} decode_img_per_s={rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
