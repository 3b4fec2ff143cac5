"""MindSpore's training step against PyTorch's on this machine, interleaved, as a ratio.

    python bench/bench_vs_torch.py --torch_python /path/to/venv-with-torch/bin/python
    python bench/bench_vs_torch.py --torch_python ... --isa avx2     # emulate an AVX2-only CPU for both

Each round runs ``bench/bench_train.py`` (the project's step) and the PyTorch twin of the V2
network (``../shared/tools/torch_crnn.py`` by default: same layers, CTC loss, clipping and SGD)
one after the other, each in its own process, so both see the same machine load; machines are
shared and noisy, so compare the ratio of one round, not numbers from different times.
``--isa avx2`` caps every library both frameworks use at AVX2 (oneDNN 2 and 3, PyTorch's ATen
kernels, MKL), which is how an AVX2-only CPU was measured on an AVX-512 machine.
Prints one line per round and the ratio; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from typing import Dict, List, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TWIN = os.path.join(ROOT, "..", "shared", "tools", "torch_crnn.py")
RATE = re.compile(r"train_img_per_s=([0-9.]+)")

#: Environment that keeps each framework below AVX-512 (``--isa avx2``).
AVX2_ENV = {"DNNL_MAX_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def train_rate(command: Sequence[str], env: Dict[str, str], timeout: float = 1800) -> float:
    """Run one benchmark process and return the ``train_img_per_s=`` it prints last."""
    res = subprocess.run(list(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    found = RATE.findall(res.stdout)
    if res.returncode != 0 or not found:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{os.path.basename(command[1])} failed (exit {res.returncode}): " + " | ".join(tail))
    return float(found[-1])


def child_env(base: Dict[str, str], isa: str) -> Dict[str, str]:
    """The environment both children get: the caller's (never this process's own ISA cap), plus ``--isa``."""
    return dict(base, **(AVX2_ENV if isa == "avx2" else {}))


def interleave(commands: Dict[str, List[str]], rounds: int, env: Dict[str, str]) -> List[Dict[str, float]]:
    """Run every command once per round, in order; return ``{name: img/s}`` per round."""
    results = []
    for r in range(1, rounds + 1):
        row = {name: train_rate(cmd, env) for name, cmd in commands.items()}
        print(f"round {r}: " + ", ".join(f"{name} {rate:.1f} img/s" for name, rate in row.items()), flush=True)
        results.append(row)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--torch_python", required=True, help="a Python that has torch (pip install torch numpy)")
    parser.add_argument("--torch_script", default=DEFAULT_TWIN, help="the PyTorch twin (prints train_img_per_s=)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--isa", default="native", choices=("native", "avx2"))
    args = parser.parse_args()
    if not os.path.isfile(args.torch_script):
        parser.error(f"--torch_script {args.torch_script} does not exist")
    env = child_env(dict(os.environ), args.isa)   # before src is imported: its cap is for MindSpore only
    sys.path.insert(0, ROOT)
    from kernel_probe import describe_machine

    commands = {
        "mindspore": [sys.executable, os.path.join(ROOT, "bench", "bench_train.py"), "--no_kernels",
                      f"--batch_size={args.batch_size}", f"--steps={args.steps}", "--warmup=2"],
        "pytorch": [args.torch_python, args.torch_script, str(args.batch_size)],
    }
    print(describe_machine(), f"(this process; --isa {args.isa})", flush=True)
    rows = interleave(commands, args.rounds, env)
    ratios = [row["mindspore"] / row["pytorch"] for row in rows]
    print("mindspore / pytorch per round: " + " ".join(f"{r:.2f}" for r in ratios))
    print(f"ratio={min(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
