"""Ctrl-C / SIGTERM during training: a checkpoint, the exact resume command, a non-zero exit; resume continues."""
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


def interrupt(args, sig):
    """Start ``args``, send ``sig`` once the first step is logged; (exit code, stdout lines before, stderr)."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.time() + 300
    for line in proc.stdout:                       # the first step's line comes at once, whatever log_interval
        seen.append(line)
        if re.search(r"step \d+/100 loss", line) or time.time() > deadline:
            break
    time.sleep(1.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + stdout, stderr


def test_interrupt_writes_a_checkpoint_and_resume_continues_then_a_resumed_run_is_interrupted_again(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "train.py", "--rendered_num_samples=400", "--batch_size=4", "--epoch_size=1",
            "--log_interval=1000", f"--save_checkpoint_path={out}"]
    step = 0
    for sig in (signal.SIGINT, signal.SIGTERM):    # Ctrl-C on a fresh run, then SIGTERM (a scheduler) on its resume
        code, stdout, stderr = interrupt(args, sig)
        # MindSpore's runtime turns a SIGINT that arrives inside a graph run into SIGTERM: either code is fine
        assert code in (128 + sig, 128 + signal.SIGTERM), stdout[-2000:] + stderr[-2000:]
        m = re.search(r"interrupted at epoch 1 step (\d+) \(checkpoint (\S+)\); resume with: (.*)", stderr)
        assert m, stderr[-2000:]
        assert int(m.group(1)) > step and os.path.isfile(m.group(2)) and m.group(3).endswith("--resume=auto")
        assert "first step done in" in stdout
        if step:
            assert f"at epoch 1, step {step} (global step {step})" in stdout
        step, args = int(m.group(1)), [sys.executable] + shlex.split(m.group(3))[1:]

    res = subprocess.run(args + [f"--max_steps={step + 1}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f"at epoch 1, step {step} (global step {step})" in res.stdout and "1 steps to run" in res.stdout
