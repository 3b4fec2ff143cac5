import os

import pytest

from src import checkpoint
from src.charset import Charset
from src.model import build_crnn


def test_atomic_save_roundtrip_and_metadata(tmp_path, cfg, charset):
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    path = str(tmp_path / "ckpt_0" / "crnn-1_5.ckpt")
    checkpoint.save(net, path, {"epoch_num": 1, "step_num": 5, "alphabet": charset.alphabet})
    assert os.listdir(tmp_path / "ckpt_0") == ["crnn-1_5.ckpt"]  # no temp file left behind
    other = build_crnn(charset.num_classes, cfg.hidden_size)
    meta = checkpoint.load_into(other, path, charset.alphabet)
    assert meta["epoch_num"] == 1 and meta["step_num"] == 5
    a = net.vgg.conv1.conv.weight.asnumpy()
    assert (other.vgg.conv1.conv.weight.asnumpy() == a).all()


def test_corrupt_and_truncated_checkpoints_are_detected(tmp_path, cfg, charset):
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    d = tmp_path / "ckpt_0"
    old, new = str(d / "crnn-1_5.ckpt"), str(d / "crnn-1_10.ckpt")
    checkpoint.save(net, old, {"epoch_num": 1})
    checkpoint.save(net, new, {"epoch_num": 1})
    os.chmod(new, 0o600)
    data = open(new, "rb").read()
    with open(new, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="corrupt or truncated"):
        checkpoint.read(new)
    assert checkpoint.newest_valid(str(d)) == old
    flipped = bytearray(open(old, "rb").read())
    flipped[len(flipped) // 2] ^= 0xFF
    os.chmod(old, 0o600)
    with open(old, "wb") as f:
        f.write(bytes(flipped))
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.read(old)


def test_checkpoint_for_another_alphabet_is_refused(tmp_path, cfg, charset):
    path = str(tmp_path / "crnn-1_1.ckpt")
    checkpoint.save(build_crnn(charset.num_classes, cfg.hidden_size), path, {"alphabet": charset.alphabet})
    wide = Charset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", True)
    with pytest.raises(checkpoint.CheckpointError, match="class count mismatch"):
        checkpoint.load_into(build_crnn(wide.num_classes, cfg.hidden_size), path, wide.alphabet)


def test_prune_keeps_newest(tmp_path, cfg, charset):
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    for step in (1, 2, 10):
        checkpoint.save(net, str(tmp_path / f"crnn-1_{step}.ckpt"), {})
    checkpoint.prune(str(tmp_path), 2)
    assert [os.path.basename(p) for p in checkpoint.list_checkpoints(str(tmp_path))] == ["crnn-1_2.ckpt",
                                                                                         "crnn-1_10.ckpt"]


def test_reference_checkpoint_with_its_unused_bn1_loads_and_says_so(tmp_path, cfg, charset, caplog):
    """The reference's V2 defines vgg.bn1 (never called): its checkpoints carry 4 extra tensors."""
    import logging

    import mindspore as ms
    import numpy as np

    net = build_crnn(charset.num_classes, cfg.hidden_size)
    entries = [{"name": p.name, "data": p.data} for p in net.get_parameters()]
    for name, value in (("gamma", 1.0), ("beta", 0.0), ("moving_mean", 0.0), ("moving_variance", 1.0)):
        entries.append({"name": f"vgg.bn1.{name}", "data": ms.Tensor(np.full(512, value, np.float32))})
    entries.append({"name": "moment1.vgg.conv1.conv.weight", "data": ms.Tensor(np.zeros(1, np.float32))})
    path = str(tmp_path / "reference.ckpt")
    ms.save_checkpoint(entries, path)
    with caplog.at_level(logging.INFO):
        checkpoint.load_into(build_crnn(charset.num_classes, cfg.hidden_size), path)
    lines = [r.getMessage() for r in caplog.records if "does not use" in r.getMessage()]
    assert len(lines) == 1 and "4 tensors" in lines[0] and "vgg.bn1.gamma" in lines[0] and "reference V2" in lines[0]
    assert "moment1" not in lines[0]                                  # optimizer state is not a network layer


@pytest.mark.system
def test_the_resizing_a_model_was_trained_with_travels_with_it(tmp_path, cfg, charset):
    """Checkpoint metadata -> Recognizer default -> release -> export JSON; an explicit choice wins."""
    import json
    import subprocess
    import sys

    from src.data.pipeline import SourceOptions
    from src.serve.recognizer import Recognizer
    from tests.conftest import ROOT

    net = build_crnn(charset.num_classes, cfg.hidden_size)
    plain, area = str(tmp_path / "plain.ckpt"), str(tmp_path / "area.ckpt")
    checkpoint.save(net, plain, {"alphabet": charset.alphabet})
    checkpoint.save(net, area, {"alphabet": charset.alphabet, "resize_interpolation": "area"})
    assert checkpoint.read(area)[1]["resize_interpolation"] == "area"
    assert Recognizer.from_checkpoint(plain).interpolation == "bilinear"        # says nothing: the reference's
    assert Recognizer.from_checkpoint(area).interpolation == "area"
    fed = Recognizer.from_checkpoint(area).source_options(SourceOptions.from_config(cfg))  # what eval.py feeds it
    assert (fed.interpolation, fed.image_size) == ("area", (32, 100))
    assert Recognizer.from_checkpoint(area, interpolation="bilinear").interpolation == "bilinear"
    released = str(tmp_path / "released.ckpt")
    res = subprocess.run([sys.executable, "tools/release_checkpoint.py", "--checkpoint_path", plain, "--output", released,
                          "--resize_interpolation", "area"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert checkpoint.read(released)[1]["resize_interpolation"] == "area"
    res = subprocess.run([sys.executable, "export.py", f"--checkpoint_path={released}", "--file_format=ONNX",
                          f"--file_name={tmp_path / 'm'}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((tmp_path / "m.json").read_text())["resize_interpolation"] == "area"
    assert Recognizer.from_exported(str(tmp_path / "m.onnx")).interpolation == "area"
