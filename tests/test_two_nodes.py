"""Two machines, tested: two network namespaces joined by a veth pair, each its own address, one rank in each.

Through the README's own commands: scripts/run_distribute_train_msrun.sh on each node (node_rank 0 and 1), and
mpirun across two hosts (a hostfile of the two addresses; the remote-start agent enters the other namespace
instead of ssh-ing). Checked: identical weights on both nodes, disjoint shards, a stopped run resumed on both
nodes landing where an uninterrupted one does, and a lost node — worker killed, link down — ending the job
with one line naming it, with a checkpoint to resume from. Needs root and `ip` (skipped otherwise); the
namespaces are removed whatever happens.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.test_distributed import checksums, first_keys, free_port, rank_logs

SUFFIX = str(os.getpid() % 10000)
NODES = [(f"crnn{SUFFIX}a", f"cr{SUFFIX}a", "10.231.7.1"), (f"crnn{SUFFIX}b", f"cr{SUFFIX}b", "10.231.7.2")]


def can_make_namespaces():
    return os.geteuid() == 0 and shutil.which("ip") is not None


pytestmark = [pytest.mark.system,
              pytest.mark.skipif(not can_make_namespaces(), reason="two-node tests need root and `ip` (iproute2) "
                                                                   "to make network namespaces"),
              pytest.mark.skipif(shutil.which("mpirun") is None, reason="OpenMPI not installed")]


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def remove_namespaces():
    for ns, _, _ in NODES:
        for pid in ip("netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def nodes():
    """Two "machines": namespaces A and B with 10.231.7.1 and 10.231.7.2 on a veth pair."""
    remove_namespaces()
    try:
        (a, va, addr_a), (b, vb, addr_b) = NODES
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("link", "add", va, "type", "veth", "peer", "name", vb)
        for ns, veth, addr in NODES:
            ip("link", "set", veth, "netns", ns)
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", veth)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", veth, "up")
    except subprocess.CalledProcessError as err:
        remove_namespaces()
        pytest.skip(f"cannot make network namespaces here: {err.stderr.strip()}")
    yield NODES
    remove_namespaces()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from src.data.render import write_mjsynth

    root = str(tmp_path_factory.mktemp("tiny2"))
    write_mjsynth(root, 48, seed=4)     # 48 words: 6 steps of 2 x 4 per epoch
    return root


def env():
    # MS_NODE_TIMEOUT: how long msrun's scheduler waits for a silent node before it exits (ours: --heartbeat_timeout)
    e = dict(os.environ, PYTHON_BIN=sys.executable, MS_NODE_TIMEOUT="10")
    e["PATH"] = os.path.dirname(sys.executable) + os.pathsep + e["PATH"]
    e.pop("CRNN_LAUNCH_COMMAND", None)
    return e


def msrun_nodes(tmp_path, data, out, port, *extra):
    """Start scripts/run_distribute_train_msrun.sh on both nodes (as the README shows for two machines)."""
    procs = []
    for rank, (ns, _, _) in enumerate(NODES):
        cwd = tmp_path / f"node{rank}"
        cwd.mkdir(exist_ok=True)
        cmd = ["ip", "netns", "exec", ns, "bash", os.path.join(ROOT, "scripts", "run_distribute_train_msrun.sh"),
               "--worker_num=2", "--local_worker_num=1", f"--master_addr={NODES[0][2]}", f"--master_port={port}",
               f"--node_rank={rank}", "--device_target=CPU", "--", "synth", data, f"--save_checkpoint_path={out}",
               "--batch_size=4", "--log_interval=1", "--num_parallel_workers=1", *extra]
        procs.append(subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    return procs


def finish(procs, timeout=400):
    outputs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        outputs.append((p.returncode, out))
    return outputs


def test_two_hosts_through_mpirun_and_two_nodes_through_msrun_resumed_land_on_the_same_weights(nodes, tiny, tmp_path):
    # mpirun across the two hosts: 4 steps without a stop
    agent = tmp_path / "netns-agent"
    agent.write_text("#!/bin/sh\n# ssh stand-in: agent HOST COMMAND... runs COMMAND in HOST's namespace\nhost=$1; shift\n"
                     + "".join(f'[ "$host" = "{addr}" ] && exec ip netns exec {ns} /bin/sh -c "$*"\n'
                               for ns, _, addr in NODES) + 'echo "unknown host $host" >&2; exit 255\n')
    agent.chmod(0o755)
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("".join(f"{addr} slots=1\n" for _, _, addr in NODES))
    straight = str(tmp_path / "straight")
    e = env()
    e.update(HOSTFILE=str(hostfile), MS_SCHED_HOST=NODES[0][2], MS_SCHED_PORT=str(free_port()),
             OMPI_MCA_plm_rsh_agent=str(agent), OMPI_MCA_oob_tcp_if_include="10.231.7.0/24",
             OMPI_MCA_btl_tcp_if_include="10.231.7.0/24")
    res = subprocess.run(["ip", "netns", "exec", NODES[0][0], "bash",
                          os.path.join(ROOT, "scripts", "run_distribute_train_cpu.sh"), "2", "synth", tiny,
                          f"--save_checkpoint_path={straight}", "--batch_size=4", "--epoch_size=1", "--log_interval=1",
                          "--num_parallel_workers=1", "--max_steps=4"],
                         cwd=tmp_path, env=e, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    logs = rank_logs(straight)
    assert "rank 1 at 10.231.7.2" in logs[0]                              # rank 1 ran on the other host
    assert not first_keys(logs[0]) & first_keys(logs[1])                  # disjoint shards across the hosts
    reference = checksums(rank_logs(straight))
    assert reference[0] == reference[1]

    # msrun on two nodes: stopped after 2 steps, then --resume=auto on both nodes up to 4
    out = str(tmp_path / "resumed")
    for step, extra in ((2, ()), (4, ("--resume=auto",))):
        results = finish(msrun_nodes(tmp_path, tiny, out, free_port(), "--epoch_size=1", f"--max_steps={step}",
                                     *extra))
        assert [rc for rc, _ in results] == [0, 0], results[0][1][-3000:] + results[1][1][-3000:]
    logs = rank_logs(out)
    assert all("resumed from " in logs[r] and "(global step 2)" in logs[r] for r in (0, 1))
    assert not first_keys(logs[0]) & first_keys(logs[1])
    resumed = checksums(rank_logs(out))
    assert resumed[0] == resumed[1]                                       # identical weights on both nodes
    # = the run that never stopped (a step less would be ~2e-4 away; mpirun and msrun sum in another order)
    assert resumed[0] == pytest.approx(reference[0], rel=1e-6)


def wait_for_log(path, pattern, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and re.search(pattern, open(path).read()):
            return True
        time.sleep(0.5)
    return False


def worker_pids(ns):
    pids = []
    for pid in ip("netns", "pids", ns, check=False).stdout.split():
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "train.py" in cmdline and "msrun" not in cmdline and "run_distribute_train_" not in cmdline:
            pids.append(int(pid))
    return pids


@pytest.mark.parametrize("how", ["kill", "link_down"])
def test_a_lost_node_ends_the_job_with_one_line_and_a_checkpoint_to_resume(nodes, tiny, tmp_path, how):
    out = str(tmp_path / "run")
    procs = msrun_nodes(tmp_path, tiny, out, free_port(), "--epoch_size=40", "--save_checkpoint_steps=2",
                        "--heartbeat_timeout=8")
    try:
        assert wait_for_log(os.path.join(out, "log_rank1.txt"), r"epoch 2/40 step \d+/"), "the run did not start"
        lost_at = time.monotonic()
        if how == "kill":
            for pid in worker_pids(NODES[1][0]):
                os.kill(pid, signal.SIGKILL)
        else:
            ip("-n", NODES[1][0], "link", "set", NODES[1][1], "down")
        results = finish(procs, timeout=300)
        ended = time.monotonic() - lost_at
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        ip("-n", NODES[1][0], "link", "set", NODES[1][1], "up", check=False)
    assert results[0][0] != 0 and results[1][0] != 0
    after_msrun = results[0][1].split("Distributed job exited with exception")[-1].splitlines()
    lines = [line for line in after_msrun if "was lost at epoch" in line]
    assert len(lines) == 1, results[0][1][-3000:]                         # what the user sees last: one line
    line = lines[0]
    assert line.startswith("error (rank 0): rank 1 (10.231.7.2) was lost at epoch 2 step ")
    assert ("its connection closed" if how == "kill" else "no heartbeat for 8 s") in line
    checkpoint = re.search(r"last good checkpoint: (\S+);", line).group(1)
    assert os.path.isfile(checkpoint) and "--resume=auto" in line
    if how == "link_down":   # the cut-off node says the same of rank 0, in one line too
        assert "error (rank 1): rank 0 (10.231.7.1) was lost" in results[1][1]
    assert ended < 120, ended
    print(f"{how}: the job ended {ended:.0f} s after the node was lost")
    if how == "link_down":
        return
    # and the run resumes from that checkpoint on both nodes
    epoch, step = map(int, re.search(r"crnn-(\d+)_(\d+)\.ckpt$", checkpoint).groups())
    stood = (epoch - 1) * 6 + step                                         # 6 steps per epoch
    results = finish(msrun_nodes(tmp_path, tiny, out, free_port(), "--epoch_size=40", "--save_checkpoint_steps=2",
                                 "--resume=auto", f"--max_steps={stood + 2}"))
    assert [rc for rc, _ in results] == [0, 0], results[0][1][-3000:]
    logs = rank_logs(out)
    assert all(f"resumed from {checkpoint}" in logs[r] and f"done: {stood + 2} steps" in logs[r] for r in (0, 1))


def test_one_two_node_step_equals_a_single_process_on_the_union_batch(nodes, tiny, tmp_path):
    """One step of 2 nodes x 4 images == one single-process step on the same 8 images (the gradient mean
    crossed the link), within what BatchNorm's per-rank batch statistics allow (as tests/test_distributed.py)."""
    from tests.test_distributed import trained_weights

    common = ["--shuffle=False", "--max_steps=1", "--clip_norm=0", "--learning_rate=0.01", "--momentum=0.0"]
    out = str(tmp_path / "dist")
    results = finish(msrun_nodes(tmp_path, tiny, out, free_port(), "--epoch_size=1", *common))
    assert [rc for rc, _ in results] == [0, 0], results[0][1][-3000:] + results[1][1][-3000:]
    assert len(set(checksums(rank_logs(out)).values())) == 1

    def single(folder, *extra):
        args = ["--train_dataset=synth", f"--train_dataset_path={tiny}", f"--save_checkpoint_path={folder}",
                "--batch_size=8", "--epoch_size=1", "--num_parallel_workers=1", *common, *extra]
        r = subprocess.run([sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        return trained_weights(folder)

    union, start = single(str(tmp_path / "single")), single(str(tmp_path / "start"), "--learning_rate=1e-12")
    dist = trained_weights(out)
    for name, tolerance in (("rnn.1.embedding.bias", 0.05), ("rnn.1.embedding.weight", 0.25)):
        update = union[name] - start[name]
        assert np.abs(update).max() > 1e-4
        assert np.linalg.norm(dist[name] - union[name]) < tolerance * np.linalg.norm(update), name
