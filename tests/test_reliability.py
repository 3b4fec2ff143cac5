"""Fault injection: bad inputs, non-finite steps, crashes and resume, wrong configs, determinism."""
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, word_image

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


def run(*args, timeout=600, env=None):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.fixture()
def bad_corpus(tmp_path):
    """An IIIT5K-layout set mixing good samples with every kind of bad input."""
    root = tmp_path / "bad"
    (root / "img").mkdir(parents=True)
    good = ["hello", "world", "coffee", "street", "hotel", "exit", "open", "sale"]
    lines = []
    for i, w in enumerate(good):
        cv2.imwrite(str(root / "img" / f"g{i}.png"), word_image(w, seed=i))
        lines.append(f"img/g{i}.png,{w}")
    png = cv2.imencode(".png", word_image("trunc"))[1].tobytes()
    jpg = cv2.imencode(".jpg", word_image("trunc"))[1].tobytes()
    files = {
        "zero.png": b"", "trunc.png": png[: len(png) // 3], "trunc.jpg": jpg[:150],
        "text.jpg": b"this is not an image\n",
    }
    for name, data in files.items():
        (root / "img" / name).write_bytes(data)
    arrays = {
        "one.png": np.full((1, 1, 3), 128, np.uint8),
        "deep.png": (cv2.cvtColor(word_image("deep"), cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257),
        "rgba.png": cv2.cvtColor(word_image("rgba"), cv2.COLOR_BGR2BGRA),
        "gray.png": cv2.cvtColor(word_image("gray"), cv2.COLOR_BGR2GRAY),
        "wide.png": cv2.resize(word_image("wide"), (5000, 40)),
        "tall.png": cv2.resize(word_image("tall"), (10, 2000)),
    }
    for name, arr in arrays.items():
        cv2.imwrite(str(root / "img" / name), arr)
    for i, label in enumerate(["caf\u00e9", "don't", "UPPER", "", "a" * 40]):
        cv2.imwrite(str(root / "img" / f"l{i}.png"), word_image(label[:8] or "x", seed=i))
        lines.append(f"img/l{i}.png,{label}")
    lines += [f"img/{n},label" for n in files] + [
        "img/one.png,x", "img/deep.png,deep", "img/rgba.png,RGBA", "img/gray.png,gray", "img/wide.png,wide",
        "img/tall.png,tall", "img/missing.png,missing", "img/g5.png,exit"]   # g5 listed twice: duplicate
    (root / "annotation.txt").write_text("\n".join(lines) + "\n")
    return str(root), len(lines)


def test_training_and_eval_survive_a_bad_corpus(tmp_path, bad_corpus):
    root, total = bad_corpus
    out = str(tmp_path / "run")
    res = run("train.py", "--train_dataset=iiit5k", f"--train_dataset_path={root}", "--batch_size=4",
              "--epoch_size=2", "--log_interval=1", f"--save_checkpoint_path={out}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout
    # start-up label filter: kept + skipped = total lines
    head = next(line for line in log.splitlines() if "samples kept" in line)
    kept, listed = map(int, head.split("iiit5k: ")[1].split(" samples")[0].split(" of "))
    assert listed == total
    for reason in ("duplicate entry", "outside the alphabet", "empty label", "longer than max_text_length"):
        assert reason in head
    skipped = sum(int(part.strip().split(" ")[0]) for part in head.split("skipped: ")[1].rstrip(")").split(","))
    assert kept + skipped == total
    # run-time image skips, counted by reason
    assert "image unreadable or corrupt" in log and "image file missing" in log
    assert "done: " in log

    ckpt = [f for f in os.listdir(os.path.join(out, "ckpt_0")) if f.endswith(".ckpt")][-1]
    res = run("eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={root}", "--eval_batch_size=4",
              f"--checkpoint_path={os.path.join(out, 'ckpt_0', ckpt)}")
    assert res.returncode == 0, res.stderr[-3000:]
    # every line is evaluated, the duplicate excluded; unreadable ones count as errors
    assert f"total={total - 1}" in res.stdout and "unreadable=5" in res.stdout   # 4 broken files + 1 missing
    assert "unreadable images counted as errors" in res.stdout


def test_non_finite_step_is_skipped_and_training_aborts(cfg, charset):
    import mindspore as ms
    from mindspore import Tensor

    from src.model import build_crnn
    from src.train.health import StepHealth
    from src.train.signals import TrainingAborted
    from src.train.step import train_step_from_config

    net = build_crnn(charset.num_classes, cfg.hidden_size)
    step = train_step_from_config(cfg, net, charset, 10)
    step.set_train(True)
    before = net.rnn[1].embedding.weight.asnumpy().copy()
    images = np.zeros((2, 3, 32, 100), np.float32)
    images[0, 0, 0, 0] = np.nan
    loss, finite, _ = step(Tensor(images), Tensor(np.zeros((2, 23), np.int32)), Tensor(np.array([1, 1], np.int32)),
                        Tensor(np.ones(2, np.float32)))
    assert not bool(finite.asnumpy())
    assert np.array_equal(net.rnn[1].embedding.weight.asnumpy(), before)      # no update
    health = StepHealth(max_bad_steps=2, dynamic_loss_scale=True)
    health.check(False, 3.0, 1024.0, 512.0, ["a.jpg"], 1)       # finite loss at a scale > 1: an overflow
    assert (health.overflows, health.bad_steps) == (1, 0)
    health.check(False, float("nan"), 512.0, 256.0, ["a.jpg"], 2)
    with pytest.raises(TrainingAborted, match="2 consecutive non-finite steps"):
        health.check(False, float("nan"), 256.0, 128.0, ["b.jpg"], 3)
    ms.set_seed(1)


def final_weights(out):
    import mindspore as ms

    from src.checkpoint import list_checkpoints

    newest = list_checkpoints(os.path.join(out, "ckpt_0"))[-1]
    return os.path.basename(newest), {k: v.asnumpy() for k, v in ms.load_checkpoint(newest).items()
                                      if hasattr(v, "asnumpy")}


def logged_losses(out):
    """The losses of ``out/metrics.jsonl``, in order (a line cut by a kill is left out)."""
    from src.train.records import read_metrics

    return [record["loss"] for record in read_metrics(os.path.join(out, "metrics.jsonl")) if "loss" in record]


def test_same_seed_same_losses_and_a_killed_run_resumes_to_the_same_weights(tmp_path, mjsynth_dir):
    common = ["train.py", "--train_dataset=synth", f"--train_dataset_path={mjsynth_dir}", "--batch_size=4",
              "--epoch_size=3", "--save_checkpoint_steps=1", "--log_interval=1"]
    ref = str(tmp_path / "ref")
    assert run(*common, f"--save_checkpoint_path={ref}").returncode == 0
    crash = str(tmp_path / "crash")
    proc = subprocess.Popen([sys.executable, *common, f"--save_checkpoint_path={crash}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt_dir = os.path.join(crash, "ckpt_0")
    deadline = time.time() + 300
    while time.time() < deadline and len([f for f in os.listdir(ckpt_dir)] if os.path.isdir(ckpt_dir) else []) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(os.listdir(ckpt_dir))
    assert "crnn-3_2.ckpt" not in done, "the run finished before it could be killed"
    before_kill, uninterrupted = logged_losses(crash), logged_losses(ref)
    assert len(uninterrupted) == 6 and len(before_kill) >= 3
    assert before_kill == uninterrupted[:len(before_kill)]            # the same seed: the same losses

    other_alphabet = "--alphabet=0123456789abcdefghijklmnopqrstuvwxyz-"
    res = run(*common, f"--save_checkpoint_path={crash}", "--resume=auto", other_alphabet)
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert "cannot resume from" in res.stderr and "but the model has alphabet='0123456789abcdefghijklmnopqrstuvwxyz'" \
        in res.stderr and "--pretrained starts a new run" in res.stderr
    res = run(*common, f"--save_checkpoint_path={crash}", "--resume=auto")   # no model flags: the checkpoint's spec
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resumed from" in res.stdout and "model spec from" in res.stdout
    name_ref, ref_w = final_weights(ref)
    name_crash, crash_w = final_weights(crash)
    assert name_ref == name_crash == "crnn-3_2.ckpt"
    for key, value in ref_w.items():
        np.testing.assert_allclose(crash_w[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def test_wrong_configuration_is_one_clear_line(tmp_path, mjsynth_dir):
    res = run("train.py", "--train_dataset=synth", f"--train_dataset_path={mjsynth_dir}", "--batch_size=64")
    assert res.returncode == 1 and "batch_size 64 is larger than the 9 training samples" in res.stderr
    res = run("train.py", "--run_distribute=True")
    assert res.returncode == 1 and "needs a launcher" in res.stderr
    (tmp_path / "annotation_train.txt").write_text("")
    res = run("train.py", "--train_dataset=synth", f"--train_dataset_path={tmp_path}")
    assert res.returncode == 1 and "annotation file is empty" in res.stderr
    for r in (res,):
        assert "Traceback" not in r.stderr
