"""End-to-end inference speed and accuracy on the 3000 real IIIT5K test images.

    python bench/bench_infer.py --backend onnxruntime --batch_size 64 --checkpoint_path checkpoints/crnn_cpu.ckpt

Backends: mindspore (the checkpoint), mindir, onnxruntime (fp32), onnxruntime-int8
(--int8_mode auto: static or dynamic, whichever is faster here, as export.py --int8=auto; static is
calibrated on rendered words). Timed: file read +
decode + resize/normalise + network + greedy decoding, for all images. Prints accuracy and,
as the last line, ``infer_img_per_s=<float>``; ``--save_predictions`` writes
``image<TAB>prediction<TAB>confidence`` as infer.py does. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)
from src.config import add_bool_flag  # noqa: E402
from src.data.benchmarks import SHARED_IIIT5K  # noqa: E402
from src.serve.recognizer import SHIPPED_CHECKPOINT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--backend", default="onnxruntime",
                        choices=("mindspore", "mindir", "onnxruntime", "onnxruntime-int8"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--checkpoint_path", default=SHIPPED_CHECKPOINT)
    parser.add_argument("--data", default=SHARED_IIIT5K,
                        help="IIIT5K root with test/ and testdata.mat (or annotation.txt)")
    parser.add_argument("--int8_mode", default="auto", choices=("auto", "dynamic", "static"))
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--save_predictions", default="", help="write image<TAB>prediction<TAB>confidence here")
    add_bool_flag(parser, "no_kernels", help="skip the oneDNN kernel trace (~10 s)")
    args = parser.parse_args()
    from kernel_probe import print_machine

    print_machine(not args.no_kernels)

    import numpy as np
    import mindspore as ms

    from src.data.benchmarks import parse_iiit5k
    from src.data.source import SourceError
    from src.serve.backends import load_exported
    from src.evaluation.metrics import WordAccuracy
    from src.serve.recognizer import Recognizer

    try:
        entries = parse_iiit5k(args.data)  # (image path, label)
    except SourceError as err:
        print(f"error: {err} (the real IIIT5K test set)", file=sys.stderr)
        return 1
    if args.limit:
        entries = entries[: args.limit]
    recognizer = Recognizer.from_checkpoint(args.checkpoint_path, batch_size=args.batch_size)
    net = recognizer.backend.net
    tmp = tempfile.mkdtemp()
    if args.backend != "mindspore":
        fmt = "MINDIR" if args.backend == "mindir" else "ONNX"
        base = os.path.join(tmp, "crnn")
        dummy = ms.Tensor(np.zeros((args.batch_size, 3, *recognizer.image_size), np.float32))
        ms.export(net, dummy, file_name=base, file_format=fmt)
        path = f"{base}.{fmt.lower()}"
        if args.backend == "onnxruntime-int8":
            from src.serve.quantize import choose_int8

            int8_path = os.path.join(tmp, "crnn_int8.onnx")
            args.int8_mode, note = choose_int8(path, int8_path, args.int8_mode, args.batch_size, recognizer.image_size)
            print(note)
            path = int8_path
        with open(f"{os.path.splitext(path)[0]}.json", "w") as f:
            f.write(f'{{"batch_size": {args.batch_size}}}')
        recognizer = Recognizer(load_exported(path)[0], recognizer.charset, recognizer.image_size,
                                batch_size=args.batch_size, interpolation=recognizer.interpolation)
    recognizer.predict([np.zeros((*recognizer.image_size, 3), np.uint8)] * args.batch_size)  # warm-up / compile
    metric = WordAccuracy()
    start = time.perf_counter()
    predictions = recognizer.predict([path for path, _ in entries])  # end to end: files in
    for (name, label), (text, _) in zip(entries, predictions):
        metric.update(name, label, text)
    elapsed = time.perf_counter() - start
    print(f"backend={args.backend}{'-' + args.int8_mode if args.backend.endswith('int8') else ''} "
          f"batch={args.batch_size} images={metric.total} accuracy={metric.accuracy:.4f} seconds={elapsed:.1f}")
    if args.save_predictions:
        with open(args.save_predictions, "w", encoding="utf-8") as f:
            f.write("image\tprediction\tconfidence\n")
            f.writelines(f"{path}\t{text}\t{conf:.4f}\n" for (path, _), (text, conf) in zip(entries, predictions))
    print(f"infer_img_per_s={metric.total / elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
