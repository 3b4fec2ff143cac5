"""Real-crop augmentation: seeded, size-keeping, and the stronger setting's operations do what they say."""
import cv2
import numpy as np
import pytest

from src.data.augment import STRENGTHS, _arc, _low_resolution, augment
from src.data.mix import MixedSource, MixPart
from tests.conftest import word_image
from tests.test_mix import list_source


def crop(seed: int = 0) -> np.ndarray:
    return cv2.resize(word_image("HOTEL42", seed=seed), (100, 32))


@pytest.mark.parametrize("strength", sorted(STRENGTHS))
def test_each_strength_keeps_the_size_and_is_a_function_of_the_seed(strength):
    img = crop()
    for seed in range(20):
        a = augment(img.copy(), np.random.default_rng((7, 0, 1, seed)), strength)
        b = augment(img.copy(), np.random.default_rng((7, 0, 1, seed)), strength)
        assert a.shape == img.shape and a.dtype == np.uint8 and np.array_equal(a, b)


def test_mild_never_runs_the_strong_operations_and_strong_runs_them_as_often_as_stated(monkeypatch):
    import src.data.augment as aug

    calls = {"_low_resolution": 0, "_arc": 0, "_channels": 0}
    for name in calls:
        def counted(img, *args, _name=name):
            calls[_name] += 1
            return img
        monkeypatch.setattr(aug, name, counted)
    img = crop()
    for i in range(50):
        augment(img.copy(), np.random.default_rng((2, 0, 0, i)), "mild")
    assert calls == {"_low_resolution": 0, "_arc": 0, "_channels": 0}
    n = 400
    for i in range(n):
        augment(img.copy(), np.random.default_rng((2, 0, 0, i)), "strong")
    strong = STRENGTHS["strong"]
    for name, share in (("_low_resolution", strong.low_resolution), ("_arc", strong.arc),
                        ("_channels", strong.channels)):
        assert abs(calls[name] / n - share) < 0.07, (name, calls[name])


def test_low_resolution_removes_fine_detail_and_the_arc_bends_a_straight_line():
    stripes = np.zeros((32, 100, 3), np.uint8)
    stripes[:, ::2] = 255                                   # one-pixel stripes: the finest detail there is
    blurred = _low_resolution(stripes, 0.4)
    assert blurred.shape == stripes.shape and blurred.std() < 0.5 * stripes.std()
    line = np.full((32, 100, 3), 255, np.uint8)
    line[15:17] = 0                                         # a horizontal bar across the crop
    bent = _arc(line, np.random.default_rng(3))
    rows = [int(np.argmin(bent[:, x, 0])) for x in (2, 50, 97)]
    assert bent.shape == line.shape and (rows[1] - rows[0]) * (rows[1] - rows[2]) > 0  # ends on one side of the middle


def test_a_mix_part_names_its_strength(charset, tmp_path):
    a, b = list_source(charset, tmp_path, "aa", 8), list_source(charset, tmp_path, "bb", 4)
    mix = MixedSource([MixPart("aa", lambda e: a, len(a), 2),
                       MixPart("bb", lambda e: b, len(b), 2, augment=True, augment_strength="strong")], 4, seed=1)
    assert "aa 2/4, bb 2/4 (augmented, strong) per batch" in mix.summary()
    image = mix[int(mix.global_batch_indices(0, 1)[3])][0]   # a "bb" sample, augmented
    assert image.shape == (32, 100, 3)


def test_an_unknown_strength_is_refused_by_the_config():
    from src.config import load_config

    assert load_config(["--augment_strength=strong"]).augment_strength == "strong"
    with pytest.raises(SystemExit):
        load_config(["--augment_strength=wild"])
