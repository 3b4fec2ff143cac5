"""bench/bench_conv.py times three ways of writing one convolution; they must compute the same thing."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import src  # noqa: E402,F401  (oneDNN settings before MindSpore loads)
from bench_conv import WAYS, build_way  # noqa: E402


def test_the_three_ways_compute_the_same_convolution():
    import mindspore as ms

    x = np.random.default_rng(3).standard_normal((2, 5, 4, 7)).astype(np.float32)
    outputs = {way: build_way(way, 5, 6)(ms.Tensor(x)).asnumpy() for way in WAYS}
    # direct definition: out[n, o, y, x] = sum_c,i,j w[o, c, i, j] * padded[n, c, y + i, x + j]
    weight = build_way("conv2d", 5, 6).weight.asnumpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((2, 6, 4, 7), np.float32)
    for i in range(3):
        for j in range(3):
            expected += np.einsum("oc,nchw->nohw", weight[:, :, i, j], padded[:, :, i:i + 4, j:j + 7])
    for way, out in outputs.items():
        assert out.shape == expected.shape, way
        np.testing.assert_allclose(out, expected, atol=1e-5, err_msg=way)


@pytest.mark.system
def test_bench_prints_one_timing_line_per_way_and_isa():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_conv.py"), "--shape", "4,4,4,5",
                          "--batch", "2", "--repeats", "1", "--isa", "AVX2"],
                         capture_output=True, text=True, timeout=600, check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("cpu: ")
    for way in WAYS:
        line = next(x for x in lines if x.startswith(f"{way} AVX2: "))
        assert float(line.split(": ")[1].split()[0]) > 0, line
