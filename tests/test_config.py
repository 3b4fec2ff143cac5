import subprocess
import sys

import pytest

from src.config import ConfigError, load_config
from tests.conftest import ROOT


def test_overrides_are_typed():
    cfg = load_config(["--batch_size=8", "--nesterov=False", "--learning_rate=0.5", "--train_dataset=synth"])
    assert cfg.batch_size == 8 and cfg.nesterov is False and cfg.learning_rate == 0.5
    assert cfg.train_dataset == "synth"


def test_config_path_overrides_defaults_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "c.yaml"
    good.write_text("batch_size: 16\nepoch_size: 3\n")
    cfg = load_config([f"--config_path={good}", "--epoch_size=4"])
    assert (cfg.batch_size, cfg.epoch_size) == (16, 4)
    bad = tmp_path / "bad.yaml"
    bad.write_text("batchsize: 16\n")
    with pytest.raises(ConfigError, match="batchsize"):
        load_config([f"--config_path={bad}"])


def test_invalid_values_are_reported_together():
    with pytest.raises(ConfigError) as err:
        load_config(["--batch_size=0", "--image_height=48"])
    assert "batch_size" in str(err.value) and "image_height" in str(err.value)


def test_model_hash_depends_on_alphabet_only_among_model_keys():
    a = load_config([])
    assert a.model_hash() == load_config(["--batch_size=3"]).model_hash()
    assert a.model_hash() != load_config(["--alphabet=abc"]).model_hash()


@pytest.mark.system
def test_help_lists_every_key_with_help_text():
    out = subprocess.run([sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120).stdout
    for key in ("--train_dataset_path", "--save_checkpoint_steps", "--clip_norm", "--alphabet"):
        assert key in out
    assert "global-norm gradient clipping" in out


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(tmp_path, monkeypatch, capsys):
    """A CrnnError (bad input) prints one line; any other exception propagates with its traceback."""
    import pytest

    import eval as eval_entry
    from src import utils
    from src.serve import recognizer

    # the device is chosen once per process; earlier tests in this process may have started the runtime
    monkeypatch.setattr(utils, "setup_context", lambda cfg, device=None: None)
    assert eval_entry.main(["--eval_dataset=iiit5k", f"--eval_dataset_path={tmp_path}"]) == 1
    assert capsys.readouterr().err.strip() == "error: no --checkpoint_path (or --model) given"

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(recognizer.Recognizer, "from_exported", broken)
    with pytest.raises(ZeroDivisionError):
        eval_entry.main(["--model=x.onnx", f"--eval_dataset_path={tmp_path}"])


def test_switches_have_one_grammar_in_config_and_scripts():
    """``--x``, ``--x=True`` and ``--x=false`` mean the same in train/eval flags and in the scripts' switches."""
    import argparse

    from src.config import add_bool_flag

    assert load_config(["--run_distribute"]).run_distribute is True
    assert load_config(["--augment=false"]).augment is False
    parser = argparse.ArgumentParser()
    add_bool_flag(parser, "lexicons")
    assert parser.parse_args([]).lexicons is False
    assert parser.parse_args(["--lexicons"]).lexicons is True
    assert parser.parse_args(["--lexicons=yes"]).lexicons is True
    assert parser.parse_args(["--lexicons=False"]).lexicons is False
    with pytest.raises(SystemExit):
        parser.parse_args(["--lexicons=maybe"])


def test_learning_rates_follow_the_schedule_read_from_the_config():
    """Warm-up ramps to the peak, per-step cosine ends at min_lr, the reference's cosine is flat within an epoch."""
    from src.config import load_config
    from src.train.schedule import Schedule, learning_rates

    cfg = load_config(["--learning_rate=0.1", "--min_lr=0.001", "--warmup_epochs=1", "--epoch_size=4",
                       "--lr_schedule=cosine_step"])
    schedule = Schedule.from_config(cfg)
    assert schedule == Schedule("cosine_step", 0.1, 0.001, 1.0, 4)
    lrs = learning_rates(schedule, steps_per_epoch=10)
    assert len(lrs) == 40 and abs(lrs[9] - 0.1) < 1e-6 and lrs[0] < lrs[5] < lrs[9]
    assert 0.001 <= lrs[-1] < 0.0015 and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    per_epoch = learning_rates(Schedule("cosine", 0.1, 0.0, 0.0, 4), steps_per_epoch=10)
    assert len(set(per_epoch[10:20].tolist())) == 1 and abs(per_epoch[0] - 0.1) < 1e-6 and per_epoch[15] < per_epoch[5]
