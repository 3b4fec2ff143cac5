"""Time one 3x3 convolution (forward + backward) three ways, under each oneDNN instruction set.

    python bench/bench_conv.py                       # the V2 network's 256->256 conv on 8x25 maps, batch 32
    python bench/bench_conv.py --shape 512,512,4,25 --isa AVX2,AVX512_CORE

Why: on AVX-512 CPUs MindSpore 2.9/2.10's oneDNN 3 runs NCHW convolutions with its reference
kernel, so the suite caps it at AVX2 there (``src.cpu_env``; MindSpore 2.8's oneDNN 2 does not
need it). This script measures whether any other way of writing the same convolution in
MindSpore reaches the AVX-512 kernels:

- ``conv2d``: ``nn.Conv2d`` (what the network uses);
- ``conv3d``: ``ops.Conv3D`` on a depth-1 volume (another oneDNN primitive descriptor);
- ``im2col``: nine shifted slices concatenated channel-last, then one ``MatMul`` (oneDNN's
  brgemm matmul, which does use AVX-512).

Each (way, ISA) runs in its own process because the ISA must be set before MindSpore loads.
Prints one line per run, ``<way> <isa>: <ms> ms``. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

WAYS = ("conv2d", "conv3d", "im2col")
OFFSETS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2))


def build_way(way: str, cin: int, cout: int):
    """A MindSpore Cell computing a bias-free 3x3 convolution (padding 1) written as ``way``."""
    import numpy as np
    import mindspore as ms
    from mindspore import nn, ops

    class Way(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            init = np.random.default_rng(0).standard_normal((cout, cin, 3, 3)).astype(np.float32) * 0.01
            self.weight = ms.Parameter(ms.Tensor(init))
            self.conv2d = ops.Conv2D(cout, 3, pad_mode="pad", pad=1)
            self.conv3d = ops.Conv3D(cout, (1, 3, 3), pad_mode="pad", pad=(0, 0, 1, 1, 1, 1))

        def construct(self, x):
            if way == "conv2d":
                return self.conv2d(x, self.weight)
            if way == "conv3d":
                return self.conv3d(x.expand_dims(2), self.weight.expand_dims(2)).squeeze(2)
            n, c, h, w = x.shape
            padded = ops.pad(x, (1, 1, 1, 1)).transpose(0, 2, 3, 1)
            cols = ops.concat([padded[:, i:i + h, j:j + w, :] for (i, j) in OFFSETS], axis=3)
            kernel = self.weight.transpose(2, 3, 1, 0).reshape(9 * c, cout)
            y = ops.matmul(cols.reshape(n * h * w, 9 * c), kernel)
            return y.reshape(n, h, w, cout).transpose(0, 3, 1, 2)

    if way not in WAYS:
        raise ValueError(f"unknown way {way!r} (choose from {', '.join(WAYS)})")
    return Way()


def time_one(way: str, batch: int, shape: tuple, repeats: int) -> float:
    """Milliseconds per forward + backward of one convolution written as ``way`` (GRAPH mode)."""
    import numpy as np
    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    cin, cout, height, width = shape
    net = build_way(way, cin, cout)
    x = ms.Tensor(np.random.default_rng(1).standard_normal((batch, cin, height, width)).astype(np.float32))

    def total(inp):
        return net(inp).sum()

    step = ms.jit(ms.value_and_grad(total, None, net.trainable_params()))
    step(x)  # compile
    start = time.perf_counter()
    for _ in range(repeats):
        _, grads = step(x)
        grads[0].asnumpy()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--shape", default="256,256,8,25", help="in_channels,out_channels,height,width")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--isa", default="AVX2,AVX512_CORE", help="oneDNN ISA caps to try (ONEDNN_/DNNL_MAX_CPU_ISA)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    if len(shape) != 4:
        parser.error("--shape needs four integers: in_channels,out_channels,height,width")
    if args.child:
        print(f"ms={time_one(args.child, args.batch, shape, args.repeats):.1f}")
        return 0
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from src.cpu_env import cpu_flags, cpu_model, isa_summary

    print(f"cpu: {cpu_model()} ({isa_summary(cpu_flags())}); batch {args.batch}, shape {shape}, forward + backward")
    ways = args.ways.split(",")
    for way in ways:
        if way not in WAYS:
            parser.error(f"--ways: unknown {way!r} (choose from {', '.join(WAYS)})")
    for way in ways:
        for isa in args.isa.split(","):
            env = dict(os.environ, ONEDNN_MAX_CPU_ISA=isa, DNNL_MAX_CPU_ISA=isa, GLOG_v="3")
            tmp_cwd = tempfile.mkdtemp(prefix="bench_conv_")  # MindSpore writes rank_0/ there on errors
            cmd = [sys.executable, os.path.abspath(__file__), "--child", way, "--shape", args.shape,
                   "--batch", str(args.batch), "--repeats", str(args.repeats)]
            run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False,
                                 cwd=tmp_cwd)
            shutil.rmtree(tmp_cwd, ignore_errors=True)
            found = [line for line in run.stdout.splitlines() if line.startswith("ms=")]
            errors = [line for line in run.stderr.splitlines() if "Error" in line] or run.stderr.splitlines() or ["?"]
            result = f"{found[-1][3:]} ms" if found else f"failed: {errors[-1].strip()}"
            print(f"{way} {isa}: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
