"""Training throughput of 1 process vs N data-parallel processes (msrun, CPU) at the same total batch.

    python bench/bench_distributed.py --total_batch 64 --steps 8 --procs 2

Runs train.py on a small rendered MJSynth folder for --steps steps, once as a single process
with batch B and once as N msrun workers with batch B/N each, and prints the images/s that
train.py reports (the first log window, which includes graph compilation, is excluded by
taking the rate of the last logged window). Asserts nothing.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def last_window_rate(text: str) -> float:
    rates = re.findall(r"step \d+/\d+ loss \S+ lr \S+ ([\d.]+) img/s", text)
    if not rates:
        raise RuntimeError("no rate found in the training log:\n" + text[-2000:])
    return float(rates[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--total_batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    from src.data.render import write_mjsynth

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        write_mjsynth(data, args.total_batch * (args.steps + 1), seed=3)
        window = max(1, args.steps // 2)
        common = ["--train_dataset=synth", f"--train_dataset_path={data}", "--device_target=CPU", "--epoch_size=1",
                  f"--max_steps={args.steps}", f"--log_interval={window}", "--save_checkpoint=False"]
        single = subprocess.run([sys.executable, "train.py", *common, f"--batch_size={args.total_batch}",
                                 f"--save_checkpoint_path={tmp}/single"], cwd=ROOT, capture_output=True, text=True)
        one = last_window_rate(single.stdout)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        dist = subprocess.run(["msrun", f"--worker_num={args.procs}", f"--local_worker_num={args.procs}",
                               f"--master_port={port}", f"--log_dir={tmp}/msrun", "--join=True", "train.py",
                               *common, "--run_distribute=True", f"--batch_size={args.total_batch // args.procs}",
                               f"--save_checkpoint_path={tmp}/dist"], cwd=ROOT, capture_output=True, text=True,
                              env=env)
        logs = sorted(glob.glob(f"{tmp}/dist/log_rank0.txt"))
        if dist.returncode != 0 or not logs:
            print(dist.stdout[-2000:], dist.stderr[-2000:], file=sys.stderr)
            return 1
        many = last_window_rate(open(logs[0]).read())
    print(f"cpu cores: {os.cpu_count()}  total batch: {args.total_batch}")
    print(f"1 process  x batch {args.total_batch}: {one:.1f} img/s")
    print(f"{args.procs} processes x batch {args.total_batch // args.procs}: {many:.1f} img/s "
          f"({many / one:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
