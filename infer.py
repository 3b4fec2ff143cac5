"""Read the words in your own images with a trained CRNN.

    python infer.py word.png                                        # shipped default model
    python infer.py ./crops/ --model crnn.onnx --batch_size 64      # a folder, exported model (onnxruntime)
    python infer.py list.txt --checkpoint_path ckpt_0/crnn-10_14110.ckpt --decoder beam:10 --visualize out.png

INPUT is an image, a folder of images, or a text file with one image path per line
(anything after the path on a line is ignored). Prints ``path<TAB>text<TAB>confidence`` per image
(``--char_probs``: also the weakest character's probability and every character's) and the timing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Sequence, Tuple

import numpy as np

from src.config import CHOICES
from src.serve.recognizer import SHIPPED_CHECKPOINT


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


#: below this many images, choosing a backend (an ONNX export and two timed batches) costs more than it saves
AUTO_MIN_IMAGES = 256


def load_recognizer(args, num_images: int):
    """A Recognizer from --model (exported) or --checkpoint_path; alphabet and input size from the model."""
    from src.decoding.spec import from_legacy_keys
    from src.errors import UsageError
    from src.serve.recognizer import Recognizer

    decoder = args.decoder
    if decoder in ("lexicon", "beam") and (args.lexicon or args.beam_width):   # the old flags: one line, then as before
        if decoder == "lexicon" and not args.lexicon:
            raise UsageError("--decoder lexicon needs a word list: --decoder lexicon=FILE")
        decoder, note = from_legacy_keys(args.beam_width or 10, args.lexicon if decoder == "lexicon" else "none")
        if note:
            print(f"note: {note.replace('--decoders=', '--decoder ')}", file=sys.stderr)
    elif decoder == "lexicon":
        raise UsageError("--decoder lexicon needs a word list: --decoder lexicon=FILE")
    options = dict(decoder=decoder, batch_size=args.batch_size, turn_tall=args.turn_tall)
    if args.resize_interpolation:  # else the model's own (checkpoint metadata or export JSON), else bilinear
        options["interpolation"] = args.resize_interpolation
    if args.model:
        return Recognizer.from_exported(args.model, alphabet=args.alphabet or None, **options)
    backend = args.backend if args.backend != "auto" or num_images >= AUTO_MIN_IMAGES else "mindspore"
    return Recognizer.from_checkpoint(args.checkpoint_path, alphabet=args.alphabet or None,
                                      device_target=args.device_target, backend=backend, **options)


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
    parser.add_argument("--checkpoint_path", default=SHIPPED_CHECKPOINT, help="checkpoint when no --model")
    parser.add_argument("--alphabet", default="", help="the model's own alphabet unless given (must then match)")
    parser.add_argument("--device_target", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--backend", default="auto", choices=("auto", "mindspore"),
                        help=f"checkpoints on CPU: auto = the faster of MindSpore and ONNX Runtime whose outputs "
                             f"match (from {AUTO_MIN_IMAGES} images on; logged), or mindspore")
    parser.add_argument("--decoder", default="greedy",
                        help="a decoder spec, as eval.py --decoders: greedy, beam:10, beam:10+prior=FILE, lexicon=FILE")
    parser.add_argument("--beam_width", type=int, default=0, help="deprecated: --decoder beam:N")
    parser.add_argument("--lexicon", default="", help="deprecated: --decoder lexicon=FILE")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--turn_tall", type=float, default=0.0,
                        help="read images at least this many times taller than wide (e.g. 1.5) also turned 90 degrees "
                             "each way and keep the most confident reading (vertical, rotated words); 0: off")
    parser.add_argument("--resize_interpolation", default="", choices=CHOICES["resize_interpolation"],
                        help="resizing to the network input (default: the model's own, else bilinear)")
    parser.add_argument("--output", default="", help="also write the predictions to this TSV file")
    parser.add_argument("--char_probs", action="store_true",
                        help="add each word's weakest character probability and every character's (comma-separated)")
    parser.add_argument("--visualize", default="", help="write a PNG showing each input with its prediction")
    args = parser.parse_args(argv)

    from src.errors import CrnnError
    from src.serve.recognizer import RecognizerError, load_image

    paths = list_inputs(args.inputs)
    if not paths:
        print("error: no images found in the inputs", file=sys.stderr)
        return 1
    try:
        recognizer = load_recognizer(args, len(paths))
    except (CrnnError, OSError) as err:  # anything else is a bug: keep its traceback
        print(f"error: {err}", file=sys.stderr)
        return 1

    results: List[Tuple[str, str, float, str]] = []
    shown: List[Tuple[np.ndarray, str, float]] = []
    start = time.perf_counter()
    for b in range(0, len(paths), recognizer.batch_size):
        chunk = paths[b:b + recognizer.batch_size]
        images = []
        for p in chunk:
            try:
                images.append(load_image(p))
            except RecognizerError as err:
                images.append(None)
                print(f"warning: {err}", file=sys.stderr)
        readable = [img for img in images if img is not None]
        readings = iter(recognizer.read(readable) if readable else [])
        for p, img in zip(chunk, images):
            reading = next(readings) if img is not None else None
            text, conf = (reading.text, reading.confidence) if reading else ("<unreadable>", 0.0)
            extra = (f"\t{reading.min_char_prob:.4f}\t" + ",".join(f"{c.prob:.4f}" for c in reading.chars)
                     if reading else "\t0.0000\t")
            results.append((p, text, conf, extra if args.char_probs else ""))
            if args.visualize and img is not None:
                shown.append((img, text, conf))
    elapsed = time.perf_counter() - start
    lines = [f"{p}\t{t}\t{c:.4f}{extra}" for p, t, c, extra in results]
    print("\n".join(lines))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            header = "image\tprediction\tconfidence" + ("\tmin_char_prob\tchar_probs" if args.char_probs else "")
            f.write(header + "\n" + "\n".join(lines) + "\n")
    if args.visualize:
        visualize(args.visualize, shown)
    print(f"# {len(results)} images in {elapsed:.2f}s: {len(results) / elapsed:.1f} img/s, "
          f"{1000 * elapsed / len(results):.1f} ms/img ({recognizer.backend_note}, batch {recognizer.batch_size}, {recognizer.decoder_name})",
          file=sys.stderr)
    unreadable = sum(1 for _, t, _, _ in results if t == "<unreadable>")
    if unreadable == len(results):
        print(f"error: none of the {len(results)} inputs could be read as an image", file=sys.stderr)
        return 1
    if unreadable:
        print(f"# {unreadable} of {len(results)} inputs could not be read", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
