"""best.ckpt/best.json: the hold-out statistic named by ``holdout_metric`` picks the epoch, and survives a resume."""
import json
import logging

import pytest
from mindspore import nn

from src.errors import CrnnError
from src.train.records import RunRecords, latest_not_worse


@pytest.mark.parametrize("metric, picked", [("word", 1), ("char", 2)])
def test_the_chosen_holdout_statistic_picks_best_and_a_tie_keeps_the_earlier_epoch(tmp_path, metric, picked):
    net = nn.Dense(3, 2)
    records = RunRecords(str(tmp_path))
    epochs = {1: {"accuracy": 0.60, "char_accuracy": 0.85},   # more words exactly right
              2: {"accuracy": 0.59, "char_accuracy": 0.88},   # more characters right
              3: {"accuracy": 0.60, "char_accuracy": 0.88}}   # ties the best of both
    kept = [records.keep_best(net, epoch, scores, {"epoch_num": epoch}, metric) for epoch, scores in epochs.items()]
    assert kept == [True, picked == 2, False]
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["epoch"] == picked and best["metric"] == metric
    assert best["accuracy"] == epochs[picked]["accuracy"] and best["char_accuracy"] == epochs[picked]["char_accuracy"]
    assert (tmp_path / "best.ckpt").is_file()
    # a resumed run reads the best so far back from best.json
    assert RunRecords(str(tmp_path)).best_score(metric) == epochs[picked]["accuracy" if metric == "word" else "char_accuracy"]
    assert not list(tmp_path.glob("best.json.tmp-*"))           # written through a temp file, renamed over


def test_a_cut_best_json_stops_a_resume_with_one_line_naming_it(tmp_path):
    (tmp_path / "best.json").write_text('{"epoch": 3, "accur')   # a copy cut short, or a hand edit gone wrong
    with pytest.raises(CrnnError, match=r"best.json is not readable JSON .*mend or delete it"):
        RunRecords(str(tmp_path)).best_score()
    (tmp_path / "best.json").write_text("[0.61]")
    with pytest.raises(CrnnError, match=r"best.json holds a JSON list, not a dict"):
        RunRecords(str(tmp_path)).best_score()


def test_latest_not_worse_keeps_the_end_of_the_schedule_unless_the_holdout_shows_it_worse():
    crops = 200
    best = [1.0] * 150 + [0.0] * 50                     # 75%
    near = [1.0] * 147 + [0.0] * 53                     # 73.5%: 3 crops fewer, within the paired noise
    far = [1.0] * 120 + [0.0] * 80                      # 60%: 30 crops fewer
    assert latest_not_worse({1: near, 2: best, 3: near})[0] == 3
    assert latest_not_worse({1: near, 2: best, 3: far})[0] == 2
    assert latest_not_worse({1: near, 2: best, 3: far, 4: near})[0] == 4
    assert latest_not_worse({1: best, 2: list(best)})[0] == 2          # a tie: the later epoch
    assert latest_not_worse({1: best, 2: far})[:2] == (1, 1)
    assert abs(latest_not_worse({1: best, 2: far})[2] - 30 / crops) < 1e-12


def test_keep_latest_not_worse_writes_best_ckpt_and_survives_a_resume(tmp_path, caplog):
    net = nn.Dense(3, 2)
    good, worse = [1.0] * 90 + [0.0] * 10, [1.0] * 50 + [0.0] * 50
    scores = lambda xs: {"accuracy": sum(xs) / len(xs), "char_accuracy": sum(xs) / len(xs)}  # noqa: E731

    def epoch_end(epoch, crops):             # each epoch a new RunRecords, as after a resume
        records = RunRecords(str(tmp_path))
        records.record_holdout_scores(epoch, {"word": crops, "char": crops})
        return records.keep_latest_not_worse(net, epoch, scores(crops), {"epoch_num": epoch})

    assert epoch_end(1, good)
    assert not epoch_end(2, worse)
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 1
    with caplog.at_level(logging.INFO, logger="crnn"):
        assert epoch_end(3, good)
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 3
    # the log says it is the pick, not the best (epoch 1 ties it and came first)
    assert "hold-out pick (not worse than epoch 1, the best) accuracy 0.9000 at epoch 3" in caplog.text
    assert len((tmp_path / "holdout_scores.jsonl").read_text().splitlines()) == 3
