"""End to end through the entry points, as a user runs them (subprocesses, tiny data)."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SHARED_IIIT5K

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


def run(script, *args, timeout=600):
    res = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return res


def read_tensorboard(folder):
    """{tag: [(step, value)]} from the TensorBoard event files in ``folder`` (TFRecord framing + Event protos)."""
    import glob
    import struct

    from tensorboardX.proto import event_pb2

    scalars = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        data, i = open(path, "rb").read(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_train_lowers_loss_then_eval_then_resume(tmp_path, mjsynth_dir, iiit5k_dir):
    out = str(tmp_path / "run")
    common = ["--train_dataset=synth", f"--train_dataset_path={mjsynth_dir}", "--device_target=CPU",
              "--batch_size=4", "--log_interval=1", f"--save_checkpoint_path={out}", "--num_parallel_workers=1",
              "--learning_rate=0.01"]
    res = run("train.py", *common, "--epoch_size=8", f"--summary_dir={tmp_path / 'tb'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "9 of 10 samples kept" in res.stdout and "1 label has characters outside the alphabet" in res.stdout
    assert "image unreadable or corrupt" in res.stdout          # the truncated JPEG, counted at run time
    records = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 16
    assert os.path.getsize(os.path.join(out, "metrics.png")) > 10_000           # the curves, drawn at the end
    events = read_tensorboard(str(tmp_path / "tb"))
    assert [round(v, 4) for _, v in events["train/loss"]] == [round(v, 4) for v in losses]
    assert [s for s, _ in events["train/loss"]] == [r["images_seen"] for r in records if "loss" in r]
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    ckpts = sorted(os.listdir(os.path.join(out, "ckpt_0")))
    assert "crnn-8_2.ckpt" in ckpts and "crnn-1_2.ckpt" in ckpts

    ckpt = os.path.join(out, "ckpt_0", "crnn-8_2.ckpt")
    preds = str(tmp_path / "pred.tsv")
    res = run("eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={iiit5k_dir}", f"--checkpoint_path={ckpt}",
              "--device_target=CPU", f"--save_predictions={preds}", "--eval_batch_size=4")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "total=6" in res.stdout and "accuracy=" in res.stdout
    rows = open(preds).read().splitlines()
    assert rows[0] == "image\tlabel\tprediction\tcorrect\tconfidence\tmin_char_prob\tchar_probs" and len(rows) == 7

    res = run("train.py", *common, "--epoch_size=9", "--resume=auto")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "crnn-8_2.ckpt at epoch 8, step 2 (global step 16)" in res.stdout
    assert "2 steps to run" in res.stdout
    assert os.path.exists(os.path.join(out, "ckpt_0", "crnn-9_2.ckpt"))


def test_clear_errors_before_work(tmp_path):
    res = run("train.py", "--train_dataset=synth", f"--train_dataset_path={tmp_path}/missing")
    assert res.returncode != 0 and "dataset directory not found" in res.stderr
    res = run("train.py", "--device_target=GPU")
    assert res.returncode != 0 and ("no NVIDIA GPU" in res.stderr or "GPU" in res.stderr)
    res = run("eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={tmp_path}")
    assert res.returncode != 0 and "checkpoint_path" in res.stderr
    res = run("train.py", "--batch_size=-1")
    assert res.returncode == 2 and "batch_size must be > 0" in res.stderr


@pytest.mark.skipif(not os.path.isdir(SHARED_IIIT5K), reason="real IIIT5K not present (../shared/data/IIIT5K)")
def test_convert_real_iiit5k(tmp_path):
    out = tmp_path / "annotation.txt"
    res = run("convert_iiit5k.py", "-m", os.path.join(SHARED_IIIT5K, "testdata.mat"), "-o", SHARED_IIIT5K,
              "-a", str(out))
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 3000 and lines[0] == "test/1002_1.png,PRIVATE"
