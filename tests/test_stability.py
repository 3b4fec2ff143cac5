"""The hold-out's per-crop scores (holdout_scores.jsonl) and the paired bootstrap that says whether they rank
a run's epochs (src/evaluation/stability.py, tools/holdout_bootstrap.py)."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from src.evaluation.stability import paired_bootstrap
from src.train.records import RunRecords, read_holdout_scores

ROOT = Path(__file__).resolve().parents[1]


def crops(right: int, total: int = 200, seed: int = 0) -> list:
    """``right`` of ``total`` crops read, in a shuffled order of its own."""
    scores = np.array([1.0] * right + [0.0] * (total - right))
    np.random.default_rng(seed).shuffle(scores)
    return scores.tolist()


def test_a_clear_winner_survives_resampling_and_near_ties_do_not():
    clear = paired_bootstrap({1: crops(100), 2: crops(170, seed=1), 3: crops(110, seed=2)}, resamples=500)
    assert clear.pick == 2 and clear.same_pick > 0.99 and clear.pick_share[2] == clear.same_pick
    assert clear.means == [0.5, 0.85, 0.55] and math.isclose(clear.spread, 0.35)
    close = paired_bootstrap({e: crops(150, seed=e) for e in range(1, 7)}, resamples=500)   # equal means
    assert close.pick == 1                                     # a tie: the earliest
    assert close.same_pick < 0.6 and math.isclose(sum(close.pick_share.values()), 1.0)


def test_the_paired_standard_error_matches_its_formula():
    a, b = crops(120, 400, seed=3), crops(130, 400, seed=4)
    d = np.array(b) - np.array(a)
    expected = d.std(ddof=1) / math.sqrt(len(d))
    assert abs(paired_bootstrap({1: a, 2: b}, resamples=4000).paired_se / expected - 1) < 0.08
    same = list(a)          # the same crops right under both epochs: no noise in their difference
    assert paired_bootstrap({1: a, 2: same}).paired_se == 0.0


def test_bad_scores_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="no epochs"):
        paired_bootstrap({})
    with pytest.raises(ValueError, match="same non-empty list"):
        paired_bootstrap({1: [1.0, 0.0], 2: [1.0]})


def test_scores_file_keeps_both_statistics_reads_the_first_format_and_survives_a_cut_line(tmp_path):
    records = RunRecords(str(tmp_path))
    records.record_holdout_scores(1, {"word": [1.0, 0.0], "char": [1.0, 0.5]})
    records.record_holdout_scores(2, {"word": [0.0, 0.0], "char": [0.2, 0.5]})
    records.record_holdout_scores(2, {"word": [1.0, 1.0], "char": [1.0, 1.0]})   # a resume's repeat replaces
    with open(tmp_path / "holdout_scores.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 3, "metric": "word", "scores": [0, 1]}) + "\n")  # the first format
        f.write('{"epoch": 4, "word": [1.0,')                                      # cut by a kill
    assert read_holdout_scores(str(tmp_path)) == {1: {"word": [1.0, 0.0], "char": [1.0, 0.5]},
                                                  2: {"word": [1.0, 1.0], "char": [1.0, 1.0]},
                                                  3: {"word": [0.0, 1.0]}}
    assert read_holdout_scores(str(tmp_path / "none")) == {}
    RunRecords(str(tmp_path / "rank1"), is_main=False).record_holdout_scores(1, {"word": [1.0]})
    assert not (tmp_path / "rank1").exists()


def tool(*args):
    return subprocess.run([sys.executable, "tools/holdout_bootstrap.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.system
def test_the_tool_tables_a_run_folder_and_says_what_is_missing(tmp_path):
    run = tmp_path / "stage9"
    records = RunRecords(str(run))
    for epoch, right in ((1, 150), (2, 180), (3, 175)):                # 3: within two paired SEs of 2
        word = crops(right, seed=epoch)
        records.record_holdout_scores(epoch, {"word": word, "char": [0.5 + w / 2 for w in word]})
    res = tool(str(run), "--resamples=300")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith("| stage9 |")]
    assert len(rows) == 2 and "| exact match | 3 | 75.0–90.0 |" in rows[0] and "| 1-NED | 3 | 87.5–95.0 |" in rows[1]
    assert all("| epoch 2 |" in row and row.endswith("| epoch 3 |") for row in rows)
    res = tool(str(tmp_path / "empty"))
    assert res.returncode != 0 and "has no holdout_scores.jsonl" in res.stderr and "--score" in res.stderr
    res = tool("--score", "x.ckpt")
    assert res.returncode == 2 and "--score needs --holdout" in res.stderr
    res = tool("--score", str(tmp_path / "none.ckpt"), "--holdout", "h.tsv", "--output", str(tmp_path / "out"))
    assert res.returncode == 1 and res.stderr.strip().splitlines()[-1].startswith("error: checkpoint not found")
