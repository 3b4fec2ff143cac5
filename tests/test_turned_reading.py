"""The turned reading of tall crops (``--turn_tall``): a crop at least that many times taller than wide is read
upright and turned 90° each way, and the reading whose best CTC path is the most probable is kept — in the
Recognizer and in eval.py's scoring alike (one function, :func:`src.model.backend.read_turned`)."""
from collections import Counter

import cv2
import numpy as np
import pytest

from src.charset import Charset
from src.config import ConfigError, load_config
from src.data.pipeline import SourceOptions
from src.data.transforms import preprocess
from src.decoding.spec import DecoderSpec
from src.evaluation.scoring import build_shared_decoders, evaluate_set
from src.model.backend import Backend, is_tall, log_softmax, read_turned
from src.serve.recognizer import Recognizer, RecognizerError

CHARSET = Charset("0123456789abcdefghijklmnopqrstuvwxyz")
FRAMES = 24


class SideBackend(Backend):
    """A stand-in network that reads "a" when the left half of its input is brighter than the right half
    (confidently, the more so the larger the difference) and nothing otherwise."""

    def __call__(self, images: np.ndarray) -> np.ndarray:
        width = images.shape[3]
        lean = images[:, 0, :, : width // 2].mean(axis=(1, 2)) - images[:, 0, :, width // 2:].mean(axis=(1, 2))
        logits = np.zeros((FRAMES, len(images), CHARSET.num_classes), np.float32)
        logits[:, :, CHARSET.blank] = 0.5
        logits[:, :, CHARSET.alphabet.index("a")] = 4.0 * lean
        return logits


def half_white(height: int, width: int, side: str) -> np.ndarray:
    """A BGR image white on its ``top`` or ``left`` half, black elsewhere."""
    image = np.zeros((height, width, 3), np.uint8)
    if side == "top":
        image[: height // 2] = 255
    else:
        image[:, : width // 2] = 255
    return image


def prepare(image: np.ndarray) -> np.ndarray:
    return preprocess(image, (32, 100))


def upright(images):
    return log_softmax(SideBackend()(np.stack([prepare(i) for i in images])))


def test_is_tall_compares_height_with_the_ratio_times_the_width():
    assert is_tall(np.zeros((30, 20, 3)), 1.5) and not is_tall(np.zeros((29, 20, 3)), 1.5)
    assert not is_tall(np.zeros((300, 20, 3)), 0)      # 0: off


def test_a_tall_crop_is_read_the_way_up_whose_best_path_is_most_probable():
    # a tall crop white on top: upright both halves are alike (no reading); turned counter-clockwise (np.rot90
    # k=1) its top becomes the left side, which the stand-in reads confidently; clockwise the right side
    images = [half_white(60, 20, "top"), half_white(20, 60, "top"), half_white(60, 20, "left")]
    before = upright(images)
    after, turns = read_turned(SideBackend(), images, before, 1.5, prepare)
    assert turns == [1, None, 0]                  # the wide crop is not tried; the third reads best upright
    ccw = log_softmax(SideBackend()(prepare(np.ascontiguousarray(np.rot90(images[0], 1)))[None]))
    np.testing.assert_allclose(after[:, 0], ccw[:, 0])
    np.testing.assert_array_equal(after[:, 1:], before[:, 1:])
    np.testing.assert_array_equal(before, upright(images))          # the input is not changed in place
    unchanged, none = read_turned(SideBackend(), images, before, 0, prepare)
    assert none == [None, None, None] and unchanged is before


def test_a_turned_reading_must_beat_the_upright_one_by_the_margin(monkeypatch):
    from src.model import backend

    image = [half_white(60, 20, "top")]
    before = upright(image)
    ccw = log_softmax(SideBackend()(prepare(np.ascontiguousarray(np.rot90(image[0], 1)))[None]))
    lead = float(ccw[:, 0].max(-1).sum() - before[:, 0].max(-1).sum())     # nats the turned path is ahead by
    monkeypatch.setattr(backend, "TURN_MARGIN", lead + 0.01)
    assert read_turned(SideBackend(), image, before, 1.5, prepare)[1] == [0]
    monkeypatch.setattr(backend, "TURN_MARGIN", lead - 0.01)
    assert read_turned(SideBackend(), image, before, 1.5, prepare)[1] == [1]


def test_the_recognizer_reads_tall_crops_turned_only_when_asked():
    image = half_white(60, 20, "top")
    assert Recognizer(SideBackend(), CHARSET).predict([image])[0][0] == ""
    text, confidence = Recognizer(SideBackend(), CHARSET, turn_tall=1.5).predict([image])[0]
    assert text == "a" and confidence > 0.5
    with pytest.raises(RecognizerError, match="turn_tall must be 0"):
        Recognizer(SideBackend(), CHARSET, turn_tall=0.5)


def test_scoring_reads_the_tall_crops_turned_and_counts_them(tmp_path, caplog):
    rows = [("tall_top.png", half_white(60, 20, "top"), "a"), ("wide_left.png", half_white(20, 60, "left"), "a"),
            ("tall_left.png", half_white(60, 20, "left"), "a"), ("wide_top.png", half_white(20, 60, "top"), "a")]
    for name, image, _ in rows:
        cv2.imwrite(str(tmp_path / name), image)
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"{tmp_path / name}\t{label}\n" for name, _, label in rows) +
                      f"{tmp_path / 'missing.png'}\ta\n")       # unreadable: scored as an error, never turned
    specs = [DecoderSpec("greedy")]

    def score(turn_tall):
        result = evaluate_set(SideBackend(), CHARSET, "list", str(labels), specs, build_shared_decoders(specs, CHARSET),
                              SourceOptions(), batch_size=2, progress=False, turn_tall=turn_tall)
        return [p.text for p in result.predictions["greedy"]], result.unreadable

    assert score(0) == (["", "a", "a", "", ""], 1)
    caplog.set_level("INFO", logger="crnn")
    assert score(1.5) == (["a", "a", "a", "", ""], 1)
    assert "2 crops at least 1.5 times taller than wide also read turned, 1 of them kept turned" in caplog.text


def test_turn_tall_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="turn_tall must be 0"):
        load_config(["--turn_tall=0.5"])
    assert load_config(["--turn_tall=1.5"]).turn_tall == 1.5
    assert load_config([]).turn_tall == 0


def test_the_dataset_check_counts_the_tall_crops_and_names_the_flag():
    from src.data.check import DatasetReport, format_report

    report = DatasetReport(total=4, lengths=[3, 4, 5, 2], frames=[3, 4, 5, 2], aspects=[3.0, 0.5, 0.7, 2.5],
                           characters=Counter("abcde"))
    out = format_report(report, CHARSET, 23, (32, 100), 10 ** 6)
    assert "1 of 4 images (25.0%) are at least 1.5 times taller than wide" in out and "--turn_tall=1.5" in out
    report.aspects = [3.0, 0.7, 2.5]
    assert "--turn_tall" not in format_report(report, CHARSET, 23, (32, 100), 10 ** 6)
