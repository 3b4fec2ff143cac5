"""Input-pipeline throughput next to the train step's consumption, on this machine, in one run.

    python bench/bench_data.py [--num 2000] [--batch_size 64] [--train_steps 5]

Loaders: MJSynth-layout folder, image+label LMDB (made from the same images), words
rendered on the fly; each with 1 dataset worker (a thread) and 2 (processes) (decode + resize + normalise +
batch). Prints samples/s for each, the CPU train step's images/s, and what does not depend on this machine's
core count: the CPU-seconds each delivered image costs (every process of the pipeline, user + system), and
from it the cores needed to feed 8 GPUs at 1,000 img/s each. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Dict, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)
from src.cpu_env import cpu_model  # noqa: E402


#: the target a GPU server's input pipeline must meet: 8 GPUs reading ~1,000 img/s each (the seed: 7,976 img/s)
GPUS, GPU_IMG_PER_S = 8, 1000


def process_cpu_seconds() -> Dict[int, float]:
    """User + system CPU seconds of this process (all its threads) and of each of its descendants, by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)   # ppid, utime + stime
    mine, family = {}, {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    for pid in family:
        if pid in stats:
            mine[pid] = stats[pid][1]
    return mine


def cpu_seconds_between(before: Dict[int, float], after: Dict[int, float]) -> float:
    """CPU seconds spent in the window by processes alive at its end (new ones counted from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def loader_rate(source, batch_size: int, workers: int) -> Tuple[float, float]:
    """(samples/s, CPU-seconds per sample) of the pipeline delivering one pass over ``source``. Both include
    the start-up (worker processes, prefetching), which a pass over a real dataset amortises: prefetching would
    otherwise do part of the work before a timed window starts."""
    from src.data.pipeline import epoch_indices, make_dataset

    cpu_before = process_cpu_seconds()
    start = time.perf_counter()
    indices = epoch_indices(len(source), batch_size, 0, 0, True)
    dataset = make_dataset(source, indices, batch_size, workers)
    n, last = 0, len(indices) // batch_size - 1
    batches = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)   # alive: its workers are measured
    for n, _ in enumerate(batches, 1):
        if n == last:  # one batch short of the end: the worker processes have not exited yet
            break
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds_between(cpu_before, process_cpu_seconds())
    del batches
    return n * batch_size / elapsed, cpu / (n * batch_size)


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
        loss = step(images, labels, lengths, weight)[0]
    loss.asnumpy()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--num", type=int, default=4000, help="images per loader (written for folder/LMDB)")
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
                rows.append((name, workers, *loader_rate(source, args.batch_size, workers)))
    step_rate = train_rate(cfg, charset, args.batch_size, args.train_steps)
    print(f"cpu: {cpu_model()}, {os.cpu_count()} cores  batch: {args.batch_size}")
    print(f"render to disk (1 process, incl. JPEG write): {render_rate:.0f} img/s")
    print(f"{'loader':10s} {'workers':>16s} {'samples/s':>10s} {'x train step':>12s} {'CPU ms/img':>10s} "
          f"{'cores/GPU':>9s} {'cores for 8 GPUs':>16s}")
    for name, workers, rate, cpu in rows:
        mode = "1 (thread)" if workers == 1 else f"{workers} (processes)"
        print(f"{name:10s} {mode:>16s} {rate:10.0f} {rate / step_rate:12.1f} {1000 * cpu:10.2f} "
              f"{GPU_IMG_PER_S * cpu:9.2f} {GPUS * GPU_IMG_PER_S * cpu:16.1f}")
    print(f"(cores: CPU-seconds per image x {GPU_IMG_PER_S} img/s per GPU; the count does not depend on this "
          f"machine's {os.cpu_count()} cores, only on its per-core speed)")
    print(f"train_step_img_per_s={step_rate:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
