"""tools/: the learning-curve plot reads several runs, one shifted by the images an earlier run saw."""
import json
import subprocess
import sys

from PIL import Image

from tests.conftest import ROOT

sys.path.insert(0, ROOT)
from tools.plot_curve import read_points  # noqa: E402


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
