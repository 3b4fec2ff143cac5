"""Export to MINDIR/ONNX and reload; infer.py and eval.py on exported models and with lexicons."""
import os
import subprocess
import sys

import numpy as np
import pytest

from src import checkpoint
from src.serve.backends import load_exported, run_batched
from src.model import build_crnn
from tests.conftest import ROOT

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from src.charset import Charset
    from src.config import load_config

    cfg = load_config([])
    charset = Charset.from_config(cfg)
    d = tmp_path_factory.mktemp("export")
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    ckpt = str(d / "crnn-1_1.ckpt")
    checkpoint.save(net, ckpt, {"alphabet": charset.alphabet})
    for fmt in ("ONNX", "MINDIR"):
        sub = "" if fmt == "ONNX" else "new_folder/"
        res = subprocess.run([sys.executable, "export.py", f"--checkpoint_path={ckpt}", f"--file_format={fmt}",
                              "--batch_size=4", f"--file_name={d}/{sub}crnn_{fmt.lower()}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        path = d / f"{sub}crnn_{fmt.lower()}.{fmt.lower()}"
        assert path.stat().st_mode & 0o644 == 0o644                     # MindSpore alone writes it -r--------
        if sub:                                                          # and makes a new folder drwx------
            assert path.parent.stat().st_mode & 0o755 == 0o755
            for name in (path.name, path.with_suffix(".json").name):
                os.replace(path.parent / name, d / name)
    net.set_train(False)
    return d, ckpt, net


@pytest.mark.parametrize("fmt", ["onnx", "mindir"])
def test_exported_model_matches_network(exported, fmt):
    import mindspore as ms

    d, _, net = exported
    backend, meta = load_exported(str(d / f"crnn_{fmt}.{fmt}"))
    assert meta["batch_size"] == 4 and meta["alphabet"].startswith("0123")
    x = np.random.default_rng(0).uniform(-1, 1, (6, 3, 32, 100)).astype(np.float32)   # 6: padded to 2x4
    got = run_batched(backend, x)
    want = net(ms.Tensor(x)).asnumpy()
    assert got.shape == want.shape == (24, 6, 37)
    assert np.abs(got - want).max() < 1e-4


def test_infer_cli_on_folder_with_visualization(exported, iiit5k_dir, tmp_path):
    d, ckpt, _ = exported
    vis = tmp_path / "vis.png"
    for model_args in (["--model", str(d / "crnn_onnx.onnx")], ["--checkpoint_path", ckpt]):
        res = subprocess.run([sys.executable, "infer.py", os.path.join(iiit5k_dir, "test"), *model_args,
                              "--batch_size", "4", "--visualize", str(vis)], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        rows = [line.split("\t") for line in res.stdout.splitlines() if "\t" in line]
        assert len(rows) == 6 and all(len(r) == 3 and 0.0 <= float(r[2]) <= 1.0 for r in rows)
        assert "img/s" in res.stderr and vis.stat().st_size > 1000
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    res = subprocess.run([sys.executable, "infer.py", str(junk), "--checkpoint_path", ckpt], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "none of the 1 inputs could be read" in res.stderr


def test_eval_exported_model_and_all_decoders(exported, iiit5k_dir):
    d, ckpt, _ = exported
    names = [line.split(",")[0] for line in open(os.path.join(iiit5k_dir, "annotation.txt")).read().split()]
    with open(os.path.join(iiit5k_dir, "lexicon_small.txt"), "w") as f:
        f.writelines(f"{n}\tparking gray rgba deep16 x wide\n" for n in names)
    res = subprocess.run([sys.executable, "eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={iiit5k_dir}",
                          f"--model={d}/crnn_onnx.onnx", "--decoders=greedy,beam,lex50", "--eval_batch_size=4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    for name in ("greedy", "beam:10", "lexicon:50"):              # old names in, canonical specs out
        assert f"decoder={name} correct=" in res.stdout
    assert "decoder 'lex50' is now written 'lexicon:50'" in res.stdout + res.stderr
    lex_line = next(line for line in res.stdout.splitlines() if line.startswith("decoder=lexicon:50"))
    assert "total=6" in lex_line


def test_eval_and_infer_take_the_same_decoder_specs(exported, iiit5k_dir, tmp_path):
    d, _, _ = exported
    words = tmp_path / "words.txt"
    words.write_text("parking\ngray\nwide\n")
    specs = ["greedy", "beam:4", f"beam:4+prior={words}", f"lexicon={words}+delta=2"]
    res = subprocess.run([sys.executable, "eval.py", "--eval_dataset=iiit5k", f"--eval_dataset_path={iiit5k_dir}",
                          f"--model={d}/crnn_onnx.onnx", f"--decoders={','.join(specs)}", "--eval_batch_size=4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert [line.split()[0] for line in res.stdout.splitlines() if line.startswith("decoder=")] == \
        [f"decoder={s}" for s in specs]
    for spec in specs:
        res = subprocess.run([sys.executable, "infer.py", os.path.join(iiit5k_dir, "test"), "--model",
                              f"{d}/crnn_onnx.onnx", "--decoder", spec], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert res.returncode == 0 and f", {spec})" in res.stderr, res.stdout + res.stderr   # the timing line
        if spec.startswith("lexicon"):
            assert {line.split("\t")[1] for line in res.stdout.splitlines() if "\t" in line} <= {"parking", "gray",
                                                                                                  "wide"}
    res = subprocess.run([sys.executable, "infer.py", os.path.join(iiit5k_dir, "test"), "--model",
                          f"{d}/crnn_onnx.onnx", "--decoder", "lexicon:20"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and res.stderr.startswith("error: decoder 'lexicon:20'") and "Traceback" not in res.stderr


def test_recognizer_takes_paths_arrays_and_pil_images_alike_and_matches_its_export(exported, iiit5k_dir):
    """One preprocessing path: a file, its BGR array, a gray array and a PIL image give the same words, and the
    exported ONNX model read through Recognizer.from_exported gives the checkpoint's words."""
    import cv2
    from PIL import Image

    from src.serve.recognizer import Recognizer, RecognizerError

    d, ckpt, _ = exported
    path = os.path.join(iiit5k_dir, "test", "1_1.png")
    bgr = cv2.imread(path)
    rec = Recognizer.from_checkpoint(ckpt, batch_size=2)
    assert rec.charset.alphabet.startswith("0123") and rec.image_size == (32, 100)
    inputs = [path, bgr, Image.fromarray(bgr[:, :, ::-1]), path, cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)]
    out = rec.predict(inputs)
    assert len(out) == 5 and len({text for text, _ in out}) == 1 and all(0 <= c <= 1 for _, c in out)
    singles = [rec.predict(x) for x in (path, bgr, Image.fromarray(bgr[:, :, ::-1]))] + [rec.predict(np.stack([bgr, bgr]))]
    assert [len(r) for r in singles] == [1, 1, 1, 2]                       # one image, or a 4-D array = a batch
    for (text, conf), (want_text, want_conf) in zip([r for rows in singles for r in rows], out):  # all one image
        assert text == want_text and np.isclose(conf, want_conf, rtol=1e-3)  # batch size changes the float sums
    batch = rec.preprocess([path])
    assert batch.shape == (1, 3, 32, 100) and batch.dtype == np.float32 and -1 <= batch.min() <= batch.max() <= 1
    names = sorted(os.listdir(os.path.join(iiit5k_dir, "test")))
    paths = [os.path.join(iiit5k_dir, "test", n) for n in names]
    onnx = Recognizer.from_exported(str(d / "crnn_onnx.onnx"))
    assert onnx.batch_size == 4
    assert [t for t, _ in onnx.predict(paths)] == [t for t, _ in rec.predict(paths)]
    with pytest.raises(RecognizerError, match="missing.png"):
        rec.predict([os.path.join(iiit5k_dir, "missing.png")])
    with pytest.raises(RecognizerError, match="shape"):
        rec.predict([np.zeros((2, 3, 5, 5), np.uint8)])
    with pytest.raises(RecognizerError, match="--alphabet='abc' but the model has alphabet='0123"):
        Recognizer.from_exported(str(d / "crnn_onnx.onnx"), alphabet="abc")


def test_auto_backend_picks_a_matching_backend_and_says_why(exported, iiit5k_dir):
    from src.serve.recognizer import Recognizer

    _, ckpt, _ = exported
    paths = [os.path.join(iiit5k_dir, "test", n) for n in sorted(os.listdir(os.path.join(iiit5k_dir, "test")))]
    auto = Recognizer.from_checkpoint(ckpt, backend="auto", batch_size=4)
    assert auto.backend.name in ("mindspore", "onnxruntime") and "outputs agree to" in auto.backend_note
    assert auto.backend_note.startswith(auto.backend.name)
    plain = Recognizer.from_checkpoint(ckpt, batch_size=4)
    assert [t for t, _ in auto.predict(paths)] == [t for t, _ in plain.predict(paths)]
