"""Read the words in your own images with a trained CRNN.

    python infer.py word.png                                        # shipped default model
    python infer.py ./crops/ --model crnn.onnx --batch_size 64      # a folder, exported model (onnxruntime)
    python infer.py list.txt --checkpoint_path ckpt_0/crnn-10_14110.ckpt --decoder beam --visualize out.png

INPUT is an image, a folder of images, or a text file with one image path per line
(anything after the path on a line is ignored). Prints ``path<TAB>text<TAB>confidence``
per image and the timing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Sequence, Tuple

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CHECKPOINT = os.path.join(ROOT, "checkpoints", "crnn_rendered_cpu.ckpt")


def list_inputs(inputs: Sequence[str]) -> List[str]:
    from src.data.benchmarks import IMAGE_EXTENSIONS

    paths: List[str] = []
    for item in inputs:
        if os.path.isdir(item):
            paths.extend(sorted(os.path.join(item, n) for n in os.listdir(item) if n.lower().endswith(IMAGE_EXTENSIONS)))
        elif item.lower().endswith(".txt"):
            base = os.path.dirname(os.path.abspath(item))
            with open(item, encoding="utf-8") as f:
                for line in f:
                    parts = line.strip().replace(",", " ").split()
                    if parts:
                        paths.append(parts[0] if os.path.isabs(parts[0]) else os.path.join(base, parts[0]))
        else:
            paths.append(item)
    return paths


def load_backend(args):
    """(backend, charset, image size) from --model or --checkpoint_path."""
    from src.charset import Charset
    from src.inference import MindSporeBackend, load_exported

    if args.model:
        backend, meta = load_exported(args.model)
        charset = Charset(meta.get("alphabet", args.alphabet), meta.get("case_sensitive", False))
        return backend, charset, (meta.get("image_height", 32), meta.get("image_width", 100))
    import mindspore as ms

    from src import checkpoint
    from src.config import load_config
    from src.model import build_crnn

    cfg = load_config([f"--alphabet={args.alphabet}", f"--device_target={args.device_target}"])
    ms.set_device(cfg.device_target)
    charset = Charset(args.alphabet)
    net = build_crnn(cfg, charset.num_classes)
    checkpoint.load_into(net, args.checkpoint_path, charset.alphabet)
    return MindSporeBackend(net), charset, (cfg.image_height, cfg.image_width)


def visualize(path: str, rows: List[Tuple[np.ndarray, str, float]]) -> None:
    """A contact sheet: each input (resized to 48 px high) beside its prediction."""
    import cv2

    panels = []
    for img, text, conf in rows[:64]:
        h, w = img.shape[:2]
        thumb = cv2.resize(img, (max(1, min(400, int(w * 48 / max(h, 1)))), 48))
        canvas = np.full((56, 720, 3), 255, np.uint8)
        canvas[4:52, 4:4 + thumb.shape[1]] = thumb
        cv2.putText(canvas, f"{text}  ({conf:.2f})", (420, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 160), 2)
        panels.append(canvas)
    cv2.imwrite(path, np.vstack(panels) if panels else np.full((56, 720, 3), 255, np.uint8))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CRNN word recognition on images.", allow_abbrev=False)
    parser.add_argument("inputs", nargs="+", help="image files, folders, or .txt lists of image paths")
    parser.add_argument("--model", default="", help="exported .onnx (onnxruntime) or .mindir model")
    parser.add_argument("--checkpoint_path", default=DEFAULT_CHECKPOINT, help="checkpoint when no --model")
    parser.add_argument("--alphabet", default="0123456789abcdefghijklmnopqrstuvwxyz")
    parser.add_argument("--device_target", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--decoder", default="greedy", choices=("greedy", "beam", "lexicon"))
    parser.add_argument("--beam_width", type=int, default=10)
    parser.add_argument("--lexicon", default="", help="word list for --decoder lexicon")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--output", default="", help="also write the predictions to this TSV file")
    parser.add_argument("--visualize", default="", help="write a PNG showing each input with its prediction")
    args = parser.parse_args(argv)

    from src.data.transforms import ImageError, decode_bgr, normalize, resize
    from src.inference import log_softmax, make_decoder, run_batched

    paths = list_inputs(args.inputs)
    if not paths:
        print("error: no images found in the inputs", file=sys.stderr)
        return 1
    try:
        backend, charset, size = load_backend(args)
        words = []
        if args.decoder == "lexicon":
            if not args.lexicon:
                raise ValueError("--decoder lexicon needs --lexicon FILE")
            with open(args.lexicon, encoding="utf-8") as f:
                words = [w.strip() for w in f if w.strip()]
        decoder = make_decoder(args.decoder, charset, args.beam_width, None, words)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1

    results: List[Tuple[str, str, float]] = []
    shown: List[Tuple[np.ndarray, str, float]] = []
    start = time.perf_counter()
    for b in range(0, len(paths), args.batch_size):
        chunk = paths[b:b + args.batch_size]
        images, ok = [], []
        for p in chunk:
            try:
                with open(p, "rb") as f:
                    images.append(decode_bgr(f.read()))
                ok.append(True)
            except (OSError, ImageError) as err:
                images.append(np.zeros((size[0], size[1], 3), np.uint8))
                ok.append(False)
                print(f"warning: {p}: {err}", file=sys.stderr)
        batch = np.stack([normalize(resize(img, size)) for img in images])
        log_probs = log_softmax(run_batched(backend, batch))
        for i, p in enumerate(chunk):
            text, conf = decoder(log_probs[:, i], b + i) if ok[i] else ("<unreadable>", 0.0)
            results.append((p, text, conf))
            if args.visualize:
                shown.append((images[i], text, conf))
    elapsed = time.perf_counter() - start
    lines = [f"{p}\t{t}\t{c:.4f}" for p, t, c in results]
    print("\n".join(lines))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write("image\tprediction\tconfidence\n" + "\n".join(lines) + "\n")
    if args.visualize:
        visualize(args.visualize, shown)
    print(f"# {len(results)} images in {elapsed:.2f}s: {len(results) / elapsed:.1f} img/s, "
          f"{1000 * elapsed / len(results):.1f} ms/img ({backend.name}, batch {args.batch_size}, {args.decoder})",
          file=sys.stderr)
    unreadable = sum(1 for _, t, _ in results if t == "<unreadable>")
    if unreadable == len(results):
        print(f"error: none of the {len(results)} inputs could be read as an image", file=sys.stderr)
        return 1
    if unreadable:
        print(f"# {unreadable} of {len(results)} inputs could not be read", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
