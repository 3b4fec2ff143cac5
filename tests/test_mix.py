"""Mixed training batches, hold-out split, and --pretrained (weights only, head re-initialised)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from src.data.mix import MixedSource, MixPart, batch_counts, mix_shares, split_holdout
from src.data.source import ListSource, SourceError
from src.train.records import read_holdout_scores
from tests.conftest import ROOT, word_image


def list_source(charset, tmp_path, prefix, n):
    entries = []
    for i in range(n):
        path = tmp_path / f"{prefix}{i}.png"
        cv2.imwrite(str(path), word_image(f"{prefix}{i}", seed=i))
        entries.append((str(path), f"{prefix}{i}"))
    src = ListSource(entries, charset=charset, image_size=(32, 100), max_text_length=23, num_frames=24)
    src.name = prefix
    return src


def test_batch_counts_follow_shares_and_keep_every_source():
    assert batch_counts([0.6, 0.4], 10) == [6, 4]
    assert batch_counts([1, 1, 1], 32) == [11, 11, 10]
    assert batch_counts([0.98, 0.01, 0.01], 8) == [6, 1, 1]
    with pytest.raises(SourceError):
        batch_counts([1, 0], 8)


def test_mix_shares_read_train_mix_one_per_source():
    assert mix_shares("0.75,0.25", 2) == [0.75, 0.25]
    assert mix_shares("", 3) == [1.0, 1.0, 1.0]
    with pytest.raises(SourceError, match="train_mix has 2 shares for 3 training datasets"):
        mix_shares("0.5,0.5", 3)


def make_mix(charset, tmp_path, seed=3):
    a, b = list_source(charset, tmp_path, "aa", 12), list_source(charset, tmp_path, "bb", 5)
    parts = [MixPart("aa", lambda e: a, len(a), 3), MixPart("bb", lambda e: b, len(b), 1, augment=True)]
    return MixedSource(parts, batch_size=4, seed=seed)


def test_every_batch_holds_the_shares_and_each_source_cycles_its_own_epochs(charset, tmp_path):
    mix = make_mix(charset, tmp_path)
    assert len(mix) == 16                       # one epoch = a pass over the first source: 12 / 3 = 4 batches
    indices = mix.global_batch_indices(0, 10)
    labels = [mix.label(i) for i in indices]
    for g in range(10):
        batch = labels[4 * g: 4 * g + 4]
        assert sum(x.startswith("aa") for x in batch) == 3 and batch[3].startswith("bb")
    bb = [x for x in labels if x.startswith("bb")]
    assert sorted(bb[:5]) == [f"bb{i}" for i in range(5)] and sorted(bb[5:10]) == sorted(bb[:5])
    aa = [x for x in labels if x.startswith("aa")][:12]
    assert sorted(aa) == sorted(f"aa{i}" for i in range(12))


def test_mixed_order_is_a_function_of_the_step_only(charset, tmp_path):
    """Resume: a fresh source gives batch g the same samples (and augmentations) as a long-running one."""
    first = make_mix(charset, tmp_path)
    whole = [first[int(i)] for i in first.global_batch_indices(0, 8)]
    second = make_mix(charset, tmp_path)
    tail = [second[int(i)] for i in second.global_batch_indices(5, 3)]
    for x, y in zip(whole[20:], tail):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
    ranks = [make_mix(charset, tmp_path).global_batch_indices(r, 2, stride=2) for r in (0, 1)]
    assert set(ranks[0]).isdisjoint(ranks[1]) and len(ranks[0]) == 8


def test_holdout_is_fixed_disjoint_and_complete(charset, tmp_path):
    src = list_source(charset, tmp_path, "cc", 20)
    train, held = split_holdout(src, 0.1, seed=1)
    again, held_again = split_holdout(src, 0.1, seed=1)
    keys = lambda s: [s.key(i) for i in range(len(s))]  # noqa: E731
    assert len(held) == 2 and keys(held) == keys(held_again)
    assert set(keys(train)).isdisjoint(keys(held)) and len(train) + len(held) == 20
    assert held[0][4] == 0 and held.label(1) == src.label(src.keys.index(held.key(1)))
    original = src.keys.index(held.key(1))         # a hold-out is scored and shown like any set: raw labels, images
    assert held.raw_label(1) == src.raw_label(original) and held.read_bytes(1) == src.read_bytes(original)


def run(*args):
    return subprocess.run([sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.system
def test_train_on_a_mix_with_holdout_then_pretrained_with_another_alphabet(tmp_path):
    """End to end: rendered words + a real label list; best.ckpt from the hold-out; then --pretrained
    into a network with another alphabet re-initialises (and names) the head only."""
    crops = tmp_path / "crops"
    crops.mkdir()
    lines = []
    for i, word in enumerate(["exit", "hotel", "open", "coffee", "street", "park", "sale", "bus"] * 3):
        cv2.imwrite(str(crops / f"{i}.png"), word_image(word, seed=i))
        lines.append(f"{i}.png\t{word.upper()}!")
    (crops / "labels.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    res = run("--train_dataset=rendered,list", f"--train_dataset_path=,{crops}/labels.tsv", "--train_mix=0.5,0.5",
              "--holdout_fraction=0.25", "--rendered_num_samples=16", "--batch_size=4", "--epoch_size=2",
              "--log_interval=1", f"--save_checkpoint_path={out}", "--learning_rate=0.001", "--optimizer=adam",
              "--holdout_pick=latest_not_worse")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "rendered 2/4, list 2/4 (augmented) per batch" in res.stdout
    assert "hold-out for model selection: 6 crops" in res.stdout and "24 labels lost characters" in res.stdout
    assert res.stdout.count("holdout accuracy") == 2 and res.stdout.count(", 1-NED ") == 2
    assert os.path.isfile(out / "best.ckpt")
    assert json.load(open(out / "best.json"))["epoch"] in (1, 2)
    scores = read_holdout_scores(str(out))                    # per-crop scores of both epochs, both statistics
    best = json.load(open(out / "best.json"))
    assert sorted(scores) == [1, 2] and all(len(s["word"]) == len(s["char"]) == 6 for s in scores.values())
    assert sum(scores[best["epoch"]]["word"]) / 6 == best["accuracy"]
    res = subprocess.run([sys.executable, "tools/holdout_bootstrap.py", "--score", f"{out}/best.ckpt", "--holdout",
                          f"{out}/holdout.tsv", "--output", str(tmp_path / "rescored"), "--resamples=50", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]
    assert read_holdout_scores(str(tmp_path / "rescored"))[best["epoch"]]["word"] == scores[best["epoch"]]["word"]
    assert "| run | exact match | 2 |" in res.stdout and "| rescored | exact match | 1 |" in res.stdout
    held = (out / "holdout.tsv").read_text().splitlines()
    assert len(held) == 6 and all(os.path.isabs(line.split("\t")[0]) for line in held)
    res = subprocess.run([sys.executable, "eval.py", "--eval_dataset=list", f"--eval_dataset_path={out}/holdout.tsv",
                          f"--checkpoint_path={out}/best.ckpt"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    accuracy = json.load(open(out / "best.json"))["accuracy"]
    assert res.returncode == 0 and f"accuracy={accuracy:.4f}" in res.stdout, res.stdout + res.stderr[-2000:]

    res = run("--train_dataset=rendered", "--rendered_num_samples=8", "--batch_size=4", "--max_steps=1",
              "--alphabet=abcdefghijklmnopqrstuvwxyz0123456789", f"--pretrained={out}/best.ckpt",
              f"--save_checkpoint_path={tmp_path / 'ft'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    line = next(x for x in res.stdout.splitlines() if "pretrained weights from" in x)
    assert line.endswith("head: kept 37 of 37 classes (shared characters and the blank); new: none")  # reordered
    res = run("--train_dataset=list", f"--train_dataset_path={crops}", "--batch_size=4", "--max_steps=1",
              "--alphabet=abcdefghijklmnopqrstuvwxyz", f"--pretrained={out}/best.ckpt",
              f"--save_checkpoint_path={tmp_path / 'ft2'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    line = next(x for x in res.stdout.splitlines() if "pretrained weights from" in x)
    assert line.endswith("head: kept 27 of 27 classes (shared characters and the blank); new: none")  # digits dropped
