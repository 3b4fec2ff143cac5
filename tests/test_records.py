"""best.ckpt/best.json: the hold-out statistic named by ``holdout_metric`` picks the epoch, and survives a resume."""
import json

import pytest
from mindspore import nn

from src.train.records import RunRecords


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
