import random

from src.data.render import find_fonts, load_words, render_word, sample_text, write_mjsynth
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
