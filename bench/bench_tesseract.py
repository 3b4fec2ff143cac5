"""Tesseract 5 (``--psm 8``, one word per image) on the real IIIT5K test images, for the results table.

    apt-get install tesseract-ocr && python bench/bench_tesseract.py --jobs 2

Scores with this project's protocol (case-insensitive exact match on ``[0-9a-z]``). Prints the
accuracy and, as its last line, ``tesseract_img_per_s=<float>``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from src.data.benchmarks import SHARED_IIIT5K  # noqa: E402


def read_word(path: str) -> str:
    """Tesseract's text for one word image ('' when it fails)."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    res = subprocess.run(["tesseract", path, "stdout", "--psm", "8", "-l", "eng"], capture_output=True,
                         text=True, env=env)
    return res.stdout.strip() if res.returncode == 0 else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--data", default=SHARED_IIIT5K,
                        help="IIIT5K root with test/ and testdata.mat")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="tesseract processes at once")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        print("error: tesseract not installed (apt-get install tesseract-ocr)", file=sys.stderr)
        return 1

    from src.data.iiit5k_mat import MatFormatError, read_iiit5k_mat
    from src.evaluation.metrics import WordAccuracy

    try:
        entries = read_iiit5k_mat(os.path.join(args.data, "testdata.mat"))[0]
    except MatFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    entries = entries[: args.limit or None]
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        texts = list(pool.map(read_word, [os.path.join(args.data, name) for name, _ in entries]))
    elapsed = time.perf_counter() - start
    metric = WordAccuracy()
    for (name, label), text in zip(entries, texts):
        metric.update(name, label, text)
    rate = metric.total / elapsed
    print(f"tesseract --psm 8 images={metric.total} correct={metric.correct} accuracy={metric.accuracy:.4f} "
          f"jobs={args.jobs} seconds={elapsed:.1f}")
    print(f"tesseract_img_per_s={rate:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
