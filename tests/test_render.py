import os
import random

import numpy as np
from PIL import ImageFont

from src.data.render import (_curve, _edge_distractor, _text_mask, find_fonts, load_words, render_word, sample_text,
                             write_mjsynth)
from src.data.synth import MJSynthSource


def test_sampled_text_is_alignable_alphanumeric():
    rng = random.Random(0)
    words = load_words()
    for _ in range(500):
        t = sample_text(rng, words)
        assert t and t.isalnum() and t.isascii() and len(t) <= 23


def test_render_word_gives_bgr_image():
    img = render_word("Hello", random.Random(1), find_fonts())
    assert img.ndim == 3 and img.shape[2] == 3 and img.shape[0] >= 20 and img.shape[1] > img.shape[0]
    assert img.std() > 5  # not a blank canvas


def test_writer_produces_mjsynth_layout_read_by_synth_loader(tmp_path, charset):
    counts = write_mjsynth(str(tmp_path), 30, seed=3, test_fraction=0.2)
    assert counts["train"] + counts["test"] == 30 and counts["test"] > 0
    lines = (tmp_path / "annotation_train.txt").read_text().split("\n")
    assert lines[0].startswith("./0/") and lines[0].split()[1].isdigit()
    src = MJSynthSource(str(tmp_path), "train", charset=charset, image_size=(32, 100), max_text_length=23,
                        num_frames=24)
    assert len(src) == counts["train"]
    assert all(int(src[i][3]) == 0 for i in range(len(src)))


def test_font_list_has_no_duplicates_and_no_pictographic_fonts():
    names = [os.path.basename(p) for p in find_fonts()]
    assert len(names) == len(set(names))
    assert not [n for n in names if "D050000L" in n or "Dingbat" in n]


def ink_columns(alpha):
    cols = np.flatnonzero(alpha[:, :, 0].max(axis=0) > 0.5)
    return cols[0], cols[-1]


def test_letter_spacing_widens_the_word_by_the_tracking():
    fonts = find_fonts()
    font = ImageFont.truetype(fonts[0], 30) if fonts else ImageFont.load_default(size=30)
    plain = _text_mask((400, 60), (5, 5), "word", font, 0)
    spaced = _text_mask((400, 60), (5, 5), "word", font, 20)
    (a0, a1), (b0, b1) = ink_columns(plain), ink_columns(spaced)
    assert a0 == b0 and abs((b1 - b0) - (a1 - a0) - 3 * 20) <= 2   # 3 gaps of 20 px


def test_curve_grows_the_canvas_and_keeps_every_dark_pixel():
    img = np.full((40, 120, 3), 255, np.float32)
    img[15:25, 10:110] = 0                                       # a dark bar across the word
    out = _curve(img, random.Random(0))
    assert out.shape[0] > img.shape[0] and out.shape[1] == img.shape[1]
    assert abs((out < 128).sum() - (img < 128).sum()) < 0.1 * (img < 128).sum()


def test_edge_distractor_stays_in_the_padding():
    fonts = find_fonts()
    font = ImageFont.truetype(fonts[0], 30) if fonts else ImageFont.load_default(size=30)
    img = np.full((44, 160, 3), 255, np.float32)
    changed = np.zeros(160, bool)
    for seed in range(20):
        out = _edge_distractor(img, random.Random(seed), font, np.zeros(3, np.float32), pad_x=16)
        changed |= (np.abs(out - img).max(axis=(0, 2)) > 0)
    assert changed.any()                                          # something was drawn at least once
    assert not changed[8:152].any()                               # never closer than half the padding
