"""Time the project's real training step (the one train.py uses) and print images/s.

    python bench/bench_train.py --device_target CPU --batch_size 64 --steps 10 --warmup 2
    python bench/bench_train.py --mode PYNATIVE ...          # or --jit_level O1, --threads 2, --data rendered

Data comes from memory (one fixed batch, isolating the step) or from the rendered-word
pipeline (--data rendered, the embedded default's real input path). The step includes the
CTC loss, gradient clipping, the non-finite check and the optimizer. The last line is
``train_img_per_s=<float>``. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (chooses the CPU's oneDNN settings before MindSpore loads)
from src.config import add_bool_flag  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--device_target", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (graph compile)")
    parser.add_argument("--mode", default="GRAPH", choices=("GRAPH", "PYNATIVE"))
    parser.add_argument("--jit_level", default="", choices=("", "O0", "O1", "O2"))
    parser.add_argument("--threads", type=int, default=0, help="CPU op threads (0: MindSpore default)")
    parser.add_argument("--amp_level", default="O0", choices=("O0", "O1", "O2", "O3"))
    parser.add_argument("--data", default="memory", choices=("memory", "rendered"))
    parser.add_argument("--config_path", default="", help="another yaml of defaults")
    add_bool_flag(parser, "no_kernels", help="skip the oneDNN kernel trace (~10 s)")
    args = parser.parse_args()
    from kernel_probe import print_machine

    print_machine(not args.no_kernels)

    import mindspore as ms
    import numpy as np
    from mindspore import Tensor

    from src.charset import Charset
    from src.config import load_config
    from src.data.pipeline import SourceOptions, build_source, epoch_indices, make_dataset
    from src.model import build_crnn
    from src.train.step import train_step_from_config
    from src.train.trainer import _to_tensors
    from src.utils import set_seed, setup_context

    argv = [f"--device_target={args.device_target}", f"--mode={args.mode}", f"--batch_size={args.batch_size}",
            f"--amp_level={args.amp_level}", f"--rendered_num_samples={args.batch_size * (args.steps + args.warmup)}"]
    if args.config_path:
        argv.append(f"--config_path={args.config_path}")
    cfg = load_config(argv)
    setup_context(cfg)
    if args.jit_level:
        ms.set_context(jit_config={"jit_level": args.jit_level})
    if args.threads:
        ms.device_context.cpu.op_tuning.threads_num(args.threads)
    set_seed(cfg.seed)
    charset = Charset.from_config(cfg)
    step = train_step_from_config(cfg, build_crnn(charset.num_classes, cfg.hidden_size), charset, 1000)
    step.set_train(True)

    if args.data == "memory":
        rng = np.random.default_rng(0)
        batch = (Tensor(rng.uniform(-1, 1, (args.batch_size, 3, cfg.image_height, cfg.image_width)).astype(np.float32)),
                 Tensor(rng.integers(0, charset.blank, (args.batch_size, cfg.max_text_length)).astype(np.int32)),
                 Tensor(rng.integers(3, 10, args.batch_size).astype(np.int32)),
                 Tensor(np.ones(args.batch_size, np.float32)))
        batches = (batch for _ in range(args.steps + args.warmup))
    else:
        source = build_source("rendered", "", charset, SourceOptions.from_config(cfg), training=True)
        dataset = make_dataset(source, epoch_indices(len(source), args.batch_size, 0, cfg.seed, True),
                               args.batch_size, cfg.num_parallel_workers)
        batches = (_to_tensors(b) for b in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))

    for _ in range(args.warmup):
        loss, _ = step(*next(batches))
    loss.asnumpy()
    start = time.perf_counter()
    for _ in range(args.steps):
        loss, _ = step(*next(batches))
    loss.asnumpy()
    elapsed = time.perf_counter() - start
    rate = args.steps * args.batch_size / elapsed
    print(f"device={args.device_target} mode={args.mode} jit_level={args.jit_level or 'default'} "
          f"threads={args.threads or 'default'} amp={args.amp_level} data={args.data} batch={args.batch_size} "
          f"steps={args.steps} step_ms={1000 * elapsed / args.steps:.0f}")
    print(f"train_img_per_s={rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
