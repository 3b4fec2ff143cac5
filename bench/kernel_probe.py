"""Which oneDNN kernels MindSpore runs here: one training step and one inference pass, traced.

    python bench/kernel_probe.py          # prints the CPU, its ISA and a kernel table

:func:`probe_kernels` runs this module in a child process with ``ONEDNN_VERBOSE=1`` and
``DNNL_VERBOSE=1`` (oneDNN 3 and 2 read one each; they must be set before oneDNN initialises)
and parses the trace; the test suite fails when any convolution runs a ``ref`` (reference,
~100x slower) implementation, and the bench scripts print the table.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from typing import Dict, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from src.cpu_env import configure_cpu, cpu_flags, cpu_model, isa_summary  # noqa: E402

KernelTable = Dict[Tuple[str, str], Tuple[int, float]]  # (primitive kind, implementation) -> (calls, ms)


def parse_verbose(text: str) -> Tuple[KernelTable, str]:
    """Trace lines -> table; also the ISA oneDNN reports.

    oneDNN 3 writes ``onednn_verbose,v1,primitive,exec,cpu,<kind>,<impl>,...,<ms>``,
    oneDNN 2 ``dnnl_verbose,exec,cpu,<kind>,<impl>,...,<ms>``.
    """
    table: Dict[Tuple[str, str], list] = defaultdict(lambda: [0, 0.0])
    isa = "unknown"
    for line in text.splitlines():
        fields = line.strip().split(",")
        if not fields or fields[0] not in ("onednn_verbose", "dnnl_verbose"):
            continue
        if "isa:" in line:
            isa = line.split("isa:", 1)[1].strip()
        if "exec" in fields[:4]:
            at = fields.index("exec")
            if len(fields) > at + 3 and fields[at + 1] == "cpu":
                entry = table[(fields[at + 2], fields[at + 3])]
                entry[0] += 1
                try:
                    entry[1] += float(fields[-1])
                except ValueError:
                    pass
    return {k: (v[0], v[1]) for k, v in table.items()}, isa


def reference_kernels(table: KernelTable, kinds: Tuple[str, ...] = ("convolution",)) -> Dict[Tuple[str, str], int]:
    """The entries of ``kinds`` that run a reference (``ref``) implementation."""
    return {k: v[0] for k, v in table.items() if k[0] in kinds and "ref" in k[1].replace(":", "+").split("+")}


def probe_kernels(timeout: float = 600) -> Tuple[KernelTable, str]:
    """Run one training step and one inference pass in a child process with oneDNN's trace on."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"kernel probe failed ({res.returncode}): {res.stderr[-2000:]}")
    return parse_verbose(res.stdout)


def format_table(table: KernelTable) -> str:
    rows = sorted(table.items(), key=lambda kv: -kv[1][1])
    return "\n".join(f"  {kind:20s} {impl:28s} calls={calls:<5d} ms={ms:.1f}" for (kind, impl), (calls, ms) in rows)


def describe_machine() -> str:
    """One line: CPU model, its vector ISA and the oneDNN setting chosen for it."""
    return f"cpu={cpu_model()!r} isa={isa_summary(cpu_flags())!r} {configure_cpu()}"


def print_machine(kernels: bool = True) -> None:
    """Print :func:`describe_machine` and, traced in a child process, the kernels MindSpore runs."""
    print(describe_machine(), flush=True)
    if kernels:
        table, isa = probe_kernels()
        print(f"oneDNN isa={isa!r}; kernels of one training step + one inference pass (batch 2):")
        print(format_table(table), flush=True)


def _child() -> None:
    """A batch-2 training step and a batch-2 forward pass of the reference network."""
    import numpy as np
    import mindspore as ms
    from mindspore import Tensor

    from src.charset import Charset
    from src.config import load_config
    from src.model import build_crnn
    from src.train.step import train_step_from_config

    cfg = load_config(["--batch_size=2"])
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    charset = Charset.from_config(cfg)
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    step = train_step_from_config(cfg, net, charset, 10)
    step.set_train(True)
    images = Tensor(np.zeros((2, 3, cfg.image_height, cfg.image_width), np.float32))
    labels = Tensor(np.ones((2, cfg.max_text_length), np.int32))
    step(images, labels, Tensor(np.array([3, 4], np.int32)), Tensor(np.ones(2, np.float32)))[0].asnumpy()
    net.set_train(False)
    net(images).asnumpy()


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        print_machine()
