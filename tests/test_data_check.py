"""The dataset check (python -m src.data.check) on a fixture with every kind of problem, counted exactly."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, word_image

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


@pytest.fixture()
def messy_list(tmp_path):
    """A label list with three good samples and one of every problem."""
    d = tmp_path / "crops"
    d.mkdir()
    lines = []

    def add(name, label, img=None, raw=None):
        if img is not None:
            cv2.imwrite(str(d / name), img)
        if raw is not None:
            (d / name).write_bytes(raw)
        lines.append(f"{name}\t{label}")

    add("good1.png", "hello", word_image("hello", seed=1))
    add("good2.png", "World", word_image("World", seed=2))     # folded to lower case
    add("good3.png", "coffee", word_image("coffee", seed=3))
    add("broken.png", "broken", raw=b"\x89PNG\r\n\x1a\n not really a png")
    add("missing.png", "missing")
    add("empty.png", "", word_image("x", seed=4))
    add("cafe.png", "caf\u00e9", word_image("cafe", seed=5))
    add("naive.png", "na\u00efve-\u00e9", word_image("naive", seed=6))
    add("long.png", "a" * 8 + "b" * 8 + "c" * 8, word_image("long", seed=7))        # 24 > max_text_length 23
    add("repeats.png", "a" * 14, word_image("aaaa", seed=8))                       # 27 CTC frames > 24
    add("copy.png", "hullo", word_image("hello", seed=1))                          # same bytes as good1.png
    add("huge.png", "huge", np.full((400, 300, 3), 200, np.uint8))                 # 120,000 px > the limit
    lines.append("good3.png\tcoffee")                                              # listed twice
    (d / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def check(*args):
    return subprocess.run([sys.executable, "-m", "src.data.check", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def count(stdout: str, problem: str) -> int:
    line = next((x for x in stdout.splitlines() if x.strip().endswith(problem) or f"  {problem}" in x), None)
    return int(line.split()[0]) if line else 0


def test_every_problem_counted_with_suggestions_and_written_files(messy_list, tmp_path):
    alphabet, clean = tmp_path / "alphabet.txt", tmp_path / "clean.tsv"
    res = check("--train_dataset=list", f"--train_dataset_path={messy_list / 'labels.tsv'}",
                "--max_image_pixels=100000", f"--write_alphabet={alphabet}", f"--write_clean={clean}")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert out.startswith("samples: 13, usable: 5 (38.5%)")          # café -> caf, naïve-é -> nave, as training
    expected = {"duplicate entry": 1, "image file missing": 1, "image unreadable or corrupt": 1,
                "image above the pixel limit": 1, "empty label": 1, "label has characters outside the alphabet": 0,
                "labels lose their characters outside the alphabet": 2,
                "label longer than max_text_length": 1, "label needs more CTC frames than the network emits": 1,
                "duplicate image file (same bytes as an earlier sample)": 1}
    assert {problem: count(out, problem) for problem in expected} == expected, out
    assert "characters outside the alphabet, by frequency: '\u00e9' x2, '\u00ef' x1, '-' x1" in out
    assert "--keep_aspect_ratio=True" in out and "aspect ratio" in out and "label length" in out
    suggested = next(x for x in out.splitlines() if "--max_text_length=" in x).split()[:2]
    res = check("--train_dataset=list", f"--train_dataset_path={messy_list / 'labels.tsv'}", "--max_image_pixels=100000",
                *suggested)
    assert res.returncode == 0 and res.stdout.startswith("samples: 13, usable: 7 "), res.stdout  # the long two fit
    assert count(res.stdout, "label longer than max_text_length") == 0
    assert count(res.stdout, "label needs more CTC frames than the network emits") == 0
    labels = [line.split("\t")[1].lower() for line in (messy_list / "labels.tsv").read_text().splitlines()]
    assert alphabet.read_text(encoding="utf-8").split("\n")[:-1] == sorted(set("".join(labels)))
    rows = [line.split("\t") for line in clean.read_text(encoding="utf-8").splitlines()]
    assert [(os.path.basename(p), label) for p, label in rows] == [("good1.png", "hello"), ("good2.png", "world"),
                                                                    ("good3.png", "coffee"), ("cafe.png", "caf"),
                                                                    ("naive.png", "nave")]
    res = check("--train_dataset=list", f"--train_dataset_path={clean}")  # the cleaned list is clean
    assert res.returncode == 0 and res.stdout.startswith("samples: 5, usable: 5 (100.0%)") and "problems: none" in \
        res.stdout


def test_nothing_usable_exits_non_zero_and_bad_flags_are_one_line(tmp_path):
    (tmp_path / "labels.tsv").write_text("missing.png\tword\n")
    res = check("--train_dataset=list", f"--train_dataset_path={tmp_path / 'labels.tsv'}")
    assert res.returncode == 1 and "no usable sample" in res.stderr
    res = check("--train_dataset=list", f"--train_dataset_path={tmp_path / 'nothing.tsv'}")
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr


def test_every_kind_of_dataset_and_a_mix(tmp_path):
    """Rendered words (images the source makes), an LMDB with a missing entry and a benchmark train split in one
    mix: counted per part, the benchmark labels stripped as training strips them."""
    from tests.test_lmdb import jpeg, raw_lmdb

    raw_lmdb(tmp_path / "db", [(jpeg("hello"), "hello"), (jpeg("world"), "world")], count=3)
    ic15 = tmp_path / "IC15"
    (ic15 / "ch4_training_word_images_gt").mkdir(parents=True)
    for i, word in enumerate(["JOINT.", "Exit", "open"], 1):
        cv2.imwrite(str(ic15 / "ch4_training_word_images_gt" / f"word_{i}.png"), word_image(word, seed=i))
    (ic15 / "ch4_training_word_images_gt" / "gt.txt").write_text(
        "".join(f'word_{i}.png, "{w}"\n' for i, w in enumerate(["JOINT.", "Exit", "open"], 1)))
    res = check("--train_dataset=rendered,lmdb,ic15", f"--train_dataset_path=,{tmp_path / 'db'},{ic15}",
                "--rendered_num_samples=20")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("samples: 26, usable: 25 ")                    # 20 + 3 + 3, the missing record
    assert count(res.stdout, "sample missing from the database") == 1
    assert count(res.stdout, "labels lose their characters outside the alphabet") == 1   # JOINT. -> joint
