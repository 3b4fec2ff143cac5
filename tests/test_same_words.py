"""One recognizer everywhere: infer.py, eval.py --save_predictions, Recognizer.predict and
bench/bench_infer.py give the same words and confidences for the same images, per backend."""
import csv
import json
import os
import subprocess
import sys

import pytest

from src.serve.recognizer import SHIPPED_CHECKPOINT, Recognizer
from tests.conftest import ROOT

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses

BATCH = 4  # one batch size everywhere: it changes float sums in the last digits


def run(*args):
    res = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def read_tsv(path, text_col, conf_col):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return {os.path.basename(r[0]): (r[text_col], float(r[conf_col])) for r in rows}


@pytest.fixture(scope="module")
def shipped_exports(tmp_path_factory):
    """The shipped checkpoint exported as ONNX (with the int8 copy export.py picks here) and MINDIR, at one
    batch size; also export.py's output."""
    if not os.path.isfile(SHIPPED_CHECKPOINT):
        pytest.skip(f"{SHIPPED_CHECKPOINT} is not in this checkout")
    base = tmp_path_factory.mktemp("export") / "crnn"
    res = run("export.py", f"--checkpoint_path={SHIPPED_CHECKPOINT}", "--file_format=ONNX", "--int8=auto",
              f"--batch_size={BATCH}", f"--file_name={base}")
    run("export.py", f"--checkpoint_path={SHIPPED_CHECKPOINT}", "--file_format=MINDIR", f"--batch_size={BATCH}",
        f"--file_name={base}")
    with open(f"{base}_int8.json", encoding="utf-8") as f:
        int8_mode = json.load(f)["int8"]
    return {"onnxruntime": f"{base}.onnx", "onnxruntime-int8": f"{base}_int8.onnx", "mindir": f"{base}.mindir",
            "int8_mode": int8_mode, "stdout": res.stdout}


@pytest.mark.parametrize("backend", ["mindspore", "mindir", "onnxruntime", "onnxruntime-int8"])
def test_every_entry_point_reads_the_same_words(backend, shipped_exports, iiit5k_dir, tmp_path):
    images = os.path.join(iiit5k_dir, "test")
    exported = shipped_exports.get(backend)
    model = ["--backend", "mindspore"] if backend == "mindspore" else ["--model", exported]
    infer = tmp_path / "infer.tsv"
    run("infer.py", images, *model, "--batch_size", str(BATCH), "--output", str(infer))
    evaluated = tmp_path / "eval.tsv"
    eval_model = ([f"--checkpoint_path={SHIPPED_CHECKPOINT}", "--backend=mindspore"] if backend == "mindspore"
                  else [f"--model={exported}"])
    run("eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={iiit5k_dir}", *eval_model,
        f"--eval_batch_size={BATCH}", f"--save_predictions={evaluated}")
    bench = tmp_path / "bench.tsv"
    run("bench/bench_infer.py", "--backend", backend, "--int8_mode", shipped_exports["int8_mode"], "--data", iiit5k_dir,
        "--batch_size", str(BATCH), "--no_kernels", "--save_predictions", str(bench))
    rec = (Recognizer.from_checkpoint(batch_size=BATCH) if backend == "mindspore"
           else Recognizer.from_exported(exported))
    names = sorted(os.listdir(images))
    api = {n: rec.predict(os.path.join(images, n))[0] for n in names}

    results = {"infer.py": read_tsv(infer, 1, 2), "eval.py": read_tsv(evaluated, 2, 4),
               "bench_infer.py": read_tsv(bench, 1, 2)}
    assert sum(bool(text) for text, _ in api.values()) >= 4          # the shipped model reads words here
    for where, got in results.items():
        assert sorted(got) == names, where
        for n in names:
            assert got[n][0] == api[n][0], (where, n, got[n], api[n])
            assert got[n][1] == pytest.approx(api[n][1], abs=2e-4), (where, n, got[n], api[n])


def test_int8_export_picks_a_mode_by_measuring_and_reads_like_fp32(shipped_exports, iiit5k_dir, tmp_path):
    note = next(line for line in shipped_exports["stdout"].splitlines() if "_int8.onnx" in line)
    assert "fp32" in note and "static" in note and "dynamic" in note and "img/s" in note
    assert f"int8 {shipped_exports['int8_mode']} (" in note
    int8 = Recognizer.from_exported(shipped_exports["onnxruntime-int8"])
    fp32 = Recognizer.from_exported(shipped_exports["onnxruntime"])
    images = [os.path.join(iiit5k_dir, "test", n) for n in sorted(os.listdir(os.path.join(iiit5k_dir, "test")))]
    same = sum(a[0] == b[0] for a, b in zip(int8.predict(images), fp32.predict(images)))
    assert same >= len(images) - 1
    bad = subprocess.run([sys.executable, "export.py", f"--checkpoint_path={SHIPPED_CHECKPOINT}", "--int8=static",
                          f"--file_name={tmp_path / 'x'}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "needs --file_format=ONNX" in bad.stderr
