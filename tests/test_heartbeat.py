"""The heartbeat between ranks (src/train/heartbeat.py), in one process: ranks as threads on localhost."""
import socket
import threading
import time

import pytest

from src.train.heartbeat import Heartbeat, LostRank
from src.train.watch import lost_rank_line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster(size, timeout=1.0):
    """``size`` started heartbeats (rank 0 first), and what each one was told."""
    port, told = free_port(), {r: [] for r in range(size)}
    beats = [Heartbeat(r, size, "127.0.0.1", port, timeout, told[r].append, lambda: "ckpt_0/crnn-2_5.ckpt")
             for r in range(size)]
    hub = threading.Thread(target=beats[0].start, kwargs={"connect_timeout": 10})
    hub.start()
    for beat in beats[1:]:
        beat.start(connect_timeout=10)
    hub.join()
    return beats, told


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def test_a_run_that_ends_normally_loses_no_one():
    beats, told = cluster(3, timeout=0.5)
    time.sleep(1.5)                                   # several beats, several time-outs long
    workers = [threading.Thread(target=b.stop) for b in beats[1:]]
    for w in workers:
        w.start()
    beats[0].stop()
    time.sleep(1.0)
    assert told == {0: [], 1: [], 2: []}


def test_a_killed_rank_is_named_to_every_survivor_at_once():
    beats, told = cluster(3, timeout=5.0)
    beats[2].peers[0].sock.close()                    # rank 2's process ends without a goodbye
    start = time.monotonic()
    assert wait_for(lambda: told[0] and told[1], 3.0)
    assert time.monotonic() - start < 2.0             # a closed connection is seen at once, not after the time-out
    assert told[0][0] == told[1][0] == LostRank(2, "127.0.0.1", "its connection closed (the process ended)",
                                                "ckpt_0/crnn-2_5.ckpt")


def test_a_silent_rank_is_lost_after_the_timeout(monkeypatch):
    beats, told = cluster(2, timeout=0.6)
    beats[1]._stopping.set()                          # rank 1 stops beating but keeps its connection (link down)
    start = time.monotonic()
    assert wait_for(lambda: told[0], 5.0)
    assert 0.5 < time.monotonic() - start < 3.0
    assert told[0][0].rank == 1 and "no heartbeat for 1 s" in told[0][0].reason


def test_a_lost_hub_is_seen_by_the_workers():
    beats, told = cluster(2, timeout=0.6)
    beats[0]._stopping.set()                          # rank 0 falls silent
    assert wait_for(lambda: told[1], 5.0)
    assert told[1][0].rank == 0 and told[1][0].address == "127.0.0.1"


def test_the_one_line_names_rank_place_checkpoint_and_resume_command(monkeypatch):
    monkeypatch.setenv("CRNN_LAUNCH_COMMAND", "bash scripts/run_distribute_train_msrun.sh --worker_num=2 -- synth d")
    line = lost_rank_line(LostRank(1, "10.200.0.2", "its connection closed (the process ended)"), 0, 3, 7,
                          "run/ckpt_0/crnn-3_5.ckpt")
    assert line == ("error (rank 0): rank 1 (10.200.0.2) was lost at epoch 3 step 7: its connection closed (the "
                    "process ended); last good checkpoint: run/ckpt_0/crnn-3_5.ckpt; to resume, run the launch command "
                    "again on every node with --resume=auto (here: bash scripts/run_distribute_train_msrun.sh "
                    "--worker_num=2 -- synth d --resume=auto)")
    assert "\n" not in line


def test_a_heartbeat_port_in_use_is_a_one_line_setup_error(monkeypatch):
    from src.config import load_config
    from src.errors import SetupError
    from src.train.distributed import DistInfo
    from src.train.watch import start_heartbeat

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("CRNN_HEARTBEAT_ADDR", f"127.0.0.1:{port}")
        cfg = load_config(["--heartbeat_timeout=5"])
        with pytest.raises(SetupError, match=f"heartbeat at 127.0.0.1:{port}: .*CRNN_HEARTBEAT_ADDR"):
            start_heartbeat(cfg, DistInfo(rank=0, size=2), lambda: (1, 1), lambda: "")
    assert start_heartbeat(cfg, DistInfo(rank=0, size=1), lambda: (1, 1), lambda: "") is None   # one rank: none
