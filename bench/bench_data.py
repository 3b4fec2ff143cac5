"""Input-pipeline throughput next to the train step's consumption, on this machine, in one run.

    python bench/bench_data.py [--num 2000] [--batch_size 64] [--train_steps 5]

Loaders: MJSynth-layout folder, image+label LMDB (made from the same images), words
rendered on the fly; each with 1 and 2 dataset workers (decode + resize + normalise +
batch). Prints samples/s for each and the CPU train step's images/s. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)


def loader_rate(source, batch_size: int, workers: int, max_batches: int) -> float:
    from src.data.pipeline import epoch_indices, make_dataset

    indices = epoch_indices(len(source), batch_size, 0, 0, True)
    dataset = make_dataset(source, indices, batch_size, workers)
    it = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    next(it)  # start-up (worker spawn) is not throughput
    start, n = time.perf_counter(), 0
    for n, _ in enumerate(it, 1):
        if n >= max_batches:
            break
    return n * batch_size / (time.perf_counter() - start)


def train_rate(cfg, charset, batch_size: int, steps: int) -> float:
    import numpy as np
    from mindspore import Tensor

    from src.model import build_crnn
    from src.train.step import train_step_from_config

    net = build_crnn(charset.num_classes, cfg.hidden_size)
    step = train_step_from_config(cfg, net, charset, 1000)
    step.set_train(True)
    rng = np.random.default_rng(0)
    images = Tensor(rng.uniform(-1, 1, (batch_size, 3, cfg.image_height, cfg.image_width)).astype(np.float32))
    labels = Tensor(rng.integers(0, charset.blank, (batch_size, cfg.max_text_length)).astype(np.int32))
    lengths = Tensor(np.full(batch_size, 8, np.int32))
    weight = Tensor(np.ones(batch_size, np.float32))
    step(images, labels, lengths, weight)  # compile
    start = time.perf_counter()
    for _ in range(steps):
        loss, _ = step(images, labels, lengths, weight)
    loss.asnumpy()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--num", type=int, default=2000, help="images written for the folder/LMDB loaders")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--train_steps", type=int, default=5)
    args = parser.parse_args()

    from src.charset import Charset
    from src.config import load_config
    from src.data.create_lmdb import write_lmdb
    from src.data.lmdb_dataset import LmdbSource
    from src.data.pipeline import SourceOptions
    from src.data.render import RenderedSource, rendered_items, write_mjsynth
    from src.data.synth import MJSynthSource
    from src.utils import setup_context

    cfg = load_config([])
    setup_context(cfg)
    charset = Charset.from_config(cfg)
    kw = SourceOptions.from_config(cfg).source_kwargs(charset)
    batches = max(2, args.num // args.batch_size - 2)
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = os.path.join(tmp, "folder"), os.path.join(tmp, "db")
        t = time.perf_counter()
        write_mjsynth(folder, args.num)
        render_rate = args.num / (time.perf_counter() - t)
        write_lmdb(db, rendered_items(args.num), args.num)
        sources = {"folder": MJSynthSource(folder, **kw), "lmdb": LmdbSource(db, **kw),
                   "rendered": RenderedSource(args.num, **kw)}
        rows = []
        for name, source in sources.items():
            for workers in (1, 2):
                rows.append((name, workers, loader_rate(source, args.batch_size, workers, batches)))
    step_rate = train_rate(cfg, charset, args.batch_size, args.train_steps)
    print(f"cpu cores: {os.cpu_count()}  batch: {args.batch_size}")
    print(f"render to disk (1 process, incl. JPEG write): {render_rate:.0f} img/s")
    print(f"{'loader':10s} {'workers':>7s} {'samples/s':>10s} {'x train step':>12s}")
    for name, workers, rate in rows:
        print(f"{name:10s} {workers:7d} {rate:10.0f} {rate / step_rate:12.1f}")
    print(f"train_step_img_per_s={step_rate:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
