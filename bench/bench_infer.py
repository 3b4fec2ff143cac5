"""End-to-end inference speed and accuracy on the 3000 real IIIT5K test images.

    python bench/bench_infer.py --backend onnxruntime --batch_size 64 --checkpoint_path checkpoints/crnn_rendered_cpu.ckpt

Backends: mindspore (the checkpoint), mindir, onnxruntime (fp32), onnxruntime-int8
(dynamic or, with --int8_mode static, calibrated on rendered words). Timed: file read +
decode + resize/normalise + network + greedy decoding, for all images. Prints accuracy and,
as the last line, ``infer_img_per_s=<float>``. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--backend", default="onnxruntime",
                        choices=("mindspore", "mindir", "onnxruntime", "onnxruntime-int8"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--checkpoint_path", default=os.path.join(ROOT, "checkpoints", "crnn_rendered_cpu.ckpt"))
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "IIIT5K"),
                        help="IIIT5K root with test/ and testdata.mat (or annotation.txt)")
    parser.add_argument("--int8_mode", default="dynamic", choices=("dynamic", "static"))
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--no_kernels", action="store_true", help="skip the oneDNN kernel trace (~10 s)")
    args = parser.parse_args()
    from src.kernel_probe import print_machine

    print_machine(not args.no_kernels)

    import numpy as np
    import mindspore as ms

    from src import checkpoint
    from src.charset import Charset
    from src.config import load_config
    from src.data.iiit5k_mat import read_iiit5k_mat
    from src.data.transforms import decode_bgr, normalize, resize
    from src.inference import MindSporeBackend, load_exported, log_softmax, make_decoder, run_batched
    from src.metrics import WordAccuracy
    from src.model import build_crnn

    mat = os.path.join(args.data, "testdata.mat")
    if not os.path.isfile(mat):
        print(f"error: {mat} not found (the real IIIT5K test set)", file=sys.stderr)
        return 1
    entries = read_iiit5k_mat(mat)[0]
    if args.limit:
        entries = entries[: args.limit]
    cfg = load_config([f"--batch_size={args.batch_size}"])
    ms.set_device("CPU")
    charset = Charset.from_config(cfg)
    net = build_crnn(cfg, charset.num_classes)
    checkpoint.load_into(net, args.checkpoint_path, charset.alphabet)
    net.set_train(False)
    tmp = tempfile.mkdtemp()
    if args.backend == "mindspore":
        backend = MindSporeBackend(net)
    else:
        fmt = "MINDIR" if args.backend == "mindir" else "ONNX"
        base = os.path.join(tmp, "crnn")
        dummy = ms.Tensor(np.zeros((args.batch_size, 3, 32, 100), np.float32))
        ms.export(net, dummy, file_name=base, file_format=fmt)
        path = f"{base}.{fmt.lower()}"
        if args.backend == "onnxruntime-int8":
            from src.quantize import quantize_onnx

            path = quantize_onnx(path, os.path.join(tmp, "crnn_int8.onnx"), args.int8_mode, args.batch_size)
        with open(f"{os.path.splitext(path)[0]}.json", "w") as f:
            f.write(f'{{"batch_size": {args.batch_size}}}')
        backend, _ = load_exported(path)
    decoder = make_decoder("greedy", charset)
    metric = WordAccuracy()
    run_batched(backend, np.zeros((args.batch_size, 3, 32, 100), np.float32))  # warm-up / compile
    start = time.perf_counter()
    for b in range(0, len(entries), args.batch_size):
        chunk = entries[b:b + args.batch_size]
        batch = []
        for name, _ in chunk:
            with open(os.path.join(args.data, name), "rb") as f:
                batch.append(normalize(resize(decode_bgr(f.read()), (32, 100))))
        log_probs = log_softmax(run_batched(backend, np.stack(batch)))
        for i, (name, label) in enumerate(chunk):
            metric.update(name, label, decoder(log_probs[:, i], b + i)[0])
    elapsed = time.perf_counter() - start
    print(f"backend={args.backend}{'-' + args.int8_mode if args.backend.endswith('int8') else ''} "
          f"batch={args.batch_size} images={metric.total} accuracy={metric.accuracy:.4f} seconds={elapsed:.1f}")
    print(f"infer_img_per_s={metric.total / elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
