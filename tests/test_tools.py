"""tools/: the learning-curve plot reads several runs, one shifted by the images an earlier run saw."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import ROOT
from tools.plot_curve import chains, read_points

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


def write_metrics(path, entries):
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return str(path)


def test_curve_joins_a_fine_tuning_run_after_its_parent(tmp_path):
    first = write_metrics(tmp_path / "a.jsonl", [{"step": 1, "loss": 3.0},
                                                 {"images_seen": 100, "accuracy": 0.2},
                                                 {"images_seen": 200, "accuracy": 0.4}])
    second = write_metrics(tmp_path / "b.jsonl", [{"images_seen": 100, "accuracy": 0.5}])
    assert read_points([first, second + "@200"]) == [(100.0, 20.0), (200.0, 40.0), (300.0, 50.0)]
    out = tmp_path / "curve.png"
    res = subprocess.run([sys.executable, "tools/plot_curve.py", first, second + "@200", "--output", str(out),
                          "--reference", "Tesseract=73.9"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert Image.open(out).size == (760, 440)


def test_curve_without_accuracy_entries_is_an_error(tmp_path):
    empty = write_metrics(tmp_path / "c.jsonl", [{"step": 1, "loss": 3.0}])
    res = subprocess.run([sys.executable, "tools/plot_curve.py", empty, "--output", str(tmp_path / "x.png")],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 1 and "no accuracy" in res.stderr


def test_curve_input_problems_are_one_line_errors_and_a_cut_last_line_is_skipped(tmp_path):
    running = tmp_path / "running.jsonl"
    running.write_text(json.dumps({"images_seen": 100, "accuracy": 0.5}) + '\n{"images_seen": 200, "acc')
    assert read_points([str(running)]) == [(100.0, 50.0)]          # a run still writing its last line
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"images_seen": 1\n' + json.dumps({"images_seen": 100, "accuracy": 0.5}) + "\n")
    for args, message in [([str(broken)], "broken.jsonl line 1: not a JSON line"),
                          ([str(tmp_path / "none.jsonl")], "no such file: "),
                          ([f"{running}@ten"], "the shift after '@' must be a number")]:
        res = subprocess.run([sys.executable, "tools/plot_curve.py", *args, "--output", str(tmp_path / "x.png")],
                             cwd=ROOT, capture_output=True, text=True)
        assert res.returncode == 1 and message in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_release_averages_several_checkpoints_into_a_network_only_file(tmp_path):
    import numpy as np

    from src import checkpoint
    from src.model import CRNN

    paths = []
    for seed in (1, 2):
        net = CRNN(37)
        for p in net.get_parameters():
            p.set_data(p.data.__class__(np.full(p.shape, seed, p.asnumpy().dtype)))
        paths.append(str(tmp_path / f"crnn-{seed}_1.ckpt"))
        checkpoint.save(net, paths[-1], {"alphabet": "0123456789abcdefghijklmnopqrstuvwxyz", "global_step_num": seed})
    out = tmp_path / "avg.ckpt"
    res = subprocess.run([sys.executable, "tools/release_checkpoint.py", "--checkpoint_path", ",".join(paths),
                          "--output", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    params, meta = checkpoint.read(str(out))
    assert "global_step_num" not in meta and meta["alphabet"].startswith("0123")
    assert all(np.allclose(v.asnumpy(), 1.5) for v in params.values())
    res = subprocess.run([sys.executable, "tools/release_checkpoint.py", "--checkpoint_path", str(tmp_path / "no.ckpt"),
                          "--output", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "not found" in res.stderr


def test_curve_draws_one_line_per_evaluated_set(tmp_path):
    runs = write_metrics(tmp_path / "m.jsonl", [{"images_seen": 100, "dataset": "iiit5k", "accuracy": 0.6},
                                                 {"images_seen": 100, "dataset": "ic15", "accuracy": 0.4},
                                                 {"images_seen": 200, "dataset": "ic15", "accuracy": 0.5}])
    assert read_points([runs], "ic15") == [(100.0, 40.0), (200.0, 50.0)]
    res = subprocess.run([sys.executable, "tools/plot_curve.py", runs, "--dataset", "iiit5k,ic15,svt",
                          "--output", str(tmp_path / "c.png")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "(3 points, 2 lines)" in res.stdout, res.stderr


def test_curve_draws_two_chains_apart(tmp_path):
    old = write_metrics(tmp_path / "old.jsonl", [{"images_seen": 100, "dataset": "iiit5k", "accuracy": 0.6},
                                                  {"images_seen": 200, "dataset": "iiit5k", "accuracy": 0.7}])
    new = write_metrics(tmp_path / "new=1.jsonl", [{"images_seen": 50, "dataset": "iiit5k", "accuracy": 0.65}])
    assert chains([f"old={old}", f"new={new}@100", new]) == {"old": [old], "new": [new + "@100"], "": [new]}
    res = subprocess.run([sys.executable, "tools/plot_curve.py", f"old={old}", f"new={new}@100", "--output",
                          str(tmp_path / "c.png")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "(3 points, 2 lines)" in res.stdout, res.stderr


def test_curve_plots_rendered_and_real_counts_in_panels_and_refuses_an_entry_without_them(tmp_path):
    mixed = write_metrics(tmp_path / "mix.jsonl", [
        {"images_seen": 100, "rendered": 60, "real": 40, "dataset": "iiit5k", "accuracy": 0.5},
        {"images_seen": 200, "rendered": 120, "real": 80, "dataset": "iiit5k", "accuracy": 0.6}])
    assert read_points([mixed], "iiit5k", "real") == [(40.0, 50.0), (80.0, 60.0)]
    out = tmp_path / "split.png"
    res = subprocess.run([sys.executable, "tools/plot_curve.py", mixed, "--x", "rendered,real", "--output", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "2 panels" in res.stdout, res.stderr
    assert Image.open(out).size == (1520, 440)
    plain = write_metrics(tmp_path / "plain.jsonl", [{"images_seen": 100, "dataset": "iiit5k", "accuracy": 0.5}])
    res = subprocess.run([sys.executable, "tools/plot_curve.py", mixed, plain, "--x", "real", "--output", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 1 and f"{plain} line 1: no 'real' count" in res.stderr
    res = subprocess.run([sys.executable, "tools/plot_curve.py", mixed, "--x", "steps", "--output", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "unknown ['steps']" in res.stderr


def test_eval_curve_scores_each_checkpoint_on_each_set(tmp_path, iiit5k_dir):
    from src import checkpoint
    from src.model import CRNN

    ckpt = str(tmp_path / "crnn-1_5.ckpt")
    checkpoint.save(CRNN(37), ckpt, {"alphabet": "0123456789abcdefghijklmnopqrstuvwxyz", "global_step_num": 5})
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(iiit5k_dir, data / "IIIT5K")
    out = tmp_path / "curve.jsonl"
    res = subprocess.run([sys.executable, "tools/eval_curve.py", ckpt, "--data", str(data), "--images_per_step", "8",
                          "--offset", "100", "--output", str(out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["images_seen"] == 140 and rows[0]["dataset"] == "iiit5k"
    assert 0.0 <= rows[0]["accuracy"] <= 1.0 and rows[0]["checkpoint"] == "crnn-1_5.ckpt"


def test_plot_run_draws_a_running_runs_metrics(tmp_path):
    """A run folder's metrics.jsonl (a half-written last line, as while training) becomes one PNG."""
    import json

    import cv2

    from tools.plot_run import main

    run = tmp_path / "run"
    run.mkdir()
    lines = [json.dumps({"step": s, "images_seen": 32 * s, "loss": 20.0 / s, "lr": 1e-3, "img_per_s": 30.0})
             for s in range(1, 40)]
    lines += [json.dumps({"epoch": 1, "images_seen": 1248, "dataset": "holdout", "accuracy": 0.4}), '{"step": 4']
    (run / "metrics.jsonl").write_text("\n".join(lines))
    assert main([str(run)]) == 0
    image = cv2.imread(str(run / "metrics.png"))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 600
    (run / "empty.jsonl").write_text("")
    assert main([str(run / "empty.jsonl")]) == 1
