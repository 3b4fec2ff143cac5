"""Data parallel on CPU with 2 processes, through mpirun and msrun (the same code path as 8 GPUs)."""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from src.train.distributed import cluster_env_from_openmpi
from tests.conftest import ROOT

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(shutil.which("mpirun") is None, reason="OpenMPI not installed (apt-get install "
                                                                        "openmpi-bin)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env():
    e = dict(os.environ, PYTHON_BIN=sys.executable, MS_SCHED_PORT=str(free_port()))
    e["PATH"] = os.path.dirname(sys.executable) + os.pathsep + e["PATH"]
    return e


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from src.data.render import write_mjsynth
    root = str(tmp_path_factory.mktemp("tiny"))
    write_mjsynth(root, 48, seed=4)
    return root


def rank_logs(out):
    logs = {}
    for path in sorted(glob.glob(os.path.join(out, "log_rank*.txt"))):
        logs[int(re.search(r"log_rank(\d+)", path).group(1))] = open(path).read()
    return logs


def checksums(logs):
    """Each rank's parameter checksum at the end of its last run (a resumed run appends to its log)."""
    return {r: float(re.findall(r"parameter checksum (\S+)", t)[-1]) for r, t in logs.items()}


def first_keys(text):
    return set(re.findall(r"'([^']+\.jpg)'", re.search(r"shard \d/2: .*", text).group(0)))


def train_args(data, out, *extra):
    return ["synth", data, f"--save_checkpoint_path={out}", "--batch_size=4", "--epoch_size=1", "--log_interval=1",
            "--num_parallel_workers=1", *extra]


def test_cpu_cluster_variables_from_openmpi_rank():
    got = cluster_env_from_openmpi({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
                                    "OMPI_COMM_WORLD_LOCAL_SIZE": "2", "MS_SCHED_PORT": "9000"})
    assert got == {"MS_ROLE": "MS_WORKER", "MS_WORKER_NUM": "2", "MS_NODE_ID": "1", "MS_SCHED_HOST": "127.0.0.1",
                   "MS_SCHED_PORT": "9000"}
    with pytest.raises(RuntimeError, match="MS_SCHED_HOST"):
        cluster_env_from_openmpi({"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "4",
                                  "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})


def test_waiting_for_the_scheduler(monkeypatch):
    from src.train import distributed

    with socket.socket() as server:                       # a port that listens: no wait
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        distributed._wait_for_scheduler("127.0.0.1", port, None, timeout_s=5)
        env = {"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", "MS_SCHED_PORT": str(port)}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("MS_ROLE", raising=False)
        with pytest.raises(RuntimeError, match="already in use"):  # rank 0 refuses a port someone holds
            distributed.prepare_cpu_cluster_under_mpirun("CPU")
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    dead.wait()
    with pytest.raises(RuntimeError, match="exited with code 3"):  # a scheduler that died is reported
        distributed._wait_for_scheduler("127.0.0.1", free_port(), dead, timeout_s=5)
    with pytest.raises(RuntimeError, match="no MindSpore scheduler"):
        distributed._wait_for_scheduler("127.0.0.1", free_port(), None, timeout_s=0.5)


def teardown_only(out: str) -> bool:
    """Every rank of the run in ``out`` finished its steps and rank 0 saved: a crash came after the work."""
    logs = rank_logs(out)
    return (sorted(logs) == [0, 1] and all(" done: " in t for t in logs.values())
            and os.path.isdir(out + "/ckpt_0") and bool(os.listdir(out + "/ckpt_0")))


def test_mpirun_two_ranks(tmp_path, tiny):
    out = str(tmp_path / "run")
    cmd = ["bash", os.path.join(ROOT, "scripts", "run_distribute_train_cpu.sh"), "2",
           *train_args(tiny, out, "--max_steps=3")]
    e = env()
    e["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    res = subprocess.run(cmd, cwd=tmp_path, env=e, capture_output=True, text=True, timeout=400)
    for _ in range(2):
        if not (res.returncode == 139 and "signal 11" in res.stdout + res.stderr and teardown_only(out)):
            break
        # MindSpore 2.8's CPU cluster now and then segfaults while tearing down *after* a finished run (every
        # rank logged "done", rank 0 saved; seen about once in ten idle runs, far more often beside another
        # MindSpore process — twice in a row once, beside a training run; also before this project changed
        # anything here). A clean run is required, within three tries.
        shutil.rmtree(out)
        e["MS_SCHED_PORT"] = str(free_port())
        res = subprocess.run(cmd, cwd=tmp_path, env=e, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    logs = rank_logs(out)
    assert sorted(logs) == [0, 1] and all("done: 3 steps" in t for t in logs.values())
    assert not first_keys(logs[0]) & first_keys(logs[1])          # disjoint shards
    sums = checksums(logs)
    assert sums[0] == sums[1]                                      # identical weights on both ranks
    assert os.listdir(out + "/ckpt_0") and not os.path.exists(out + "/ckpt_1")  # rank 0 alone saves


def trained_weights(out):
    import mindspore as ms
    path = glob.glob(os.path.join(out, "ckpt_0", "*.ckpt"))[0]
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(path).items() if k.startswith("rnn.1.embedding")}


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("ip") is not None,
                    reason="tests/test_two_nodes.py checks this across two machines (network namespaces)")
def test_msrun_step_equals_single_process_union_batch(tmp_path, tiny):
    """One 2x4 data-parallel step == one single-process step on the same 8 samples (gradient mean)."""
    common = ["--shuffle=False", "--max_steps=1", "--clip_norm=0", "--learning_rate=0.01", "--momentum=0.0"]
    dist_out = str(tmp_path / "dist")
    cmd = ["bash", os.path.join(ROOT, "scripts", "run_distribute_train_msrun.sh"), "--worker_num=2",
           "--local_worker_num=2", f"--master_port={free_port()}", "--device_target=CPU", "--",
           *train_args(tiny, dist_out, *common)]
    res = subprocess.run(cmd, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    logs = rank_logs(dist_out)
    assert sorted(logs) == [0, 1] and len(set(checksums(logs).values())) == 1

    def single(out, *extra):
        args = ["--train_dataset=synth", f"--train_dataset_path={tiny}", f"--save_checkpoint_path={out}",
                "--batch_size=8", "--epoch_size=1", "--num_parallel_workers=1", *common, *extra]
        r = subprocess.run([sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        return trained_weights(out)

    union = single(str(tmp_path / "single"))
    start = single(str(tmp_path / "start"), "--learning_rate=1e-12")   # the initial weights
    dist = trained_weights(dist_out)
    # Equal up to BatchNorm normalising with per-rank batch statistics (as in the reference), which
    # perturbs the features; a gradient sum instead of a mean would be 100 % off, no all-reduce
    # would make the ranks differ (checked above).
    for name, tolerance in (("rnn.1.embedding.bias", 0.05), ("rnn.1.embedding.weight", 0.25)):
        update = union[name] - start[name]
        assert np.abs(update).max() > 1e-4
        assert np.linalg.norm(dist[name] - union[name]) < tolerance * np.linalg.norm(update), name


def test_failing_rank_ends_the_job_and_is_named(tmp_path, tiny):
    out = str(tmp_path / "run")
    e = env()
    e["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    e["CRNN_FAIL_AT"] = "1:2"   # rank 1 raises at step 2 (fault injection, installed by tests/fault/sitecustomize.py)
    e["PYTHONPATH"] = os.path.join(ROOT, "tests", "fault")
    cmd = ["bash", os.path.join(ROOT, "scripts", "run_distribute_train_cpu.sh"), "2",
           *train_args(tiny, out, "--max_steps=6")]
    start = time.time()
    res = subprocess.run(cmd, cwd=tmp_path, env=e, capture_output=True, text=True, timeout=400)
    assert res.returncode != 0
    assert time.time() - start < 300
    output = res.stdout + res.stderr
    assert "error (rank 1): injected fault on rank 1 at step 2" in output
