import os
import random
import shutil

import numpy as np
import pytest
from PIL import Image, ImageFont

from src.config import ConfigError, load_config
from src.data.pipeline import SourceOptions, build_source
from src.data.render import (SHORT_WORD, WordRenderer, bend_on_arc, _dot_matrix, _edge_distractor, _text_mask,
                             find_backgrounds, find_fonts, load_words, render_word, sample_text, short_words,
                             write_mjsynth)
from src.data.render import main as render_main
from src.errors import UsageError
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
    out = bend_on_arc(img, random.Random(0))
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


def test_backgrounds_spec_none_folder_and_missing(tmp_path):
    assert find_backgrounds("none") == ()
    Image.new("RGB", (300, 200), (0, 0, 255)).save(tmp_path / "blue.png")
    (tmp_path / "notes.txt").write_text("not an image")
    assert find_backgrounds(str(tmp_path)) == (str(tmp_path / "blue.png"),)
    with pytest.raises(UsageError, match="background images: no such file or folder .*no-such"):
        find_backgrounds(str(tmp_path / "no-such"))


def test_a_named_font_folder_is_read_recursively_and_a_missing_one_is_an_error(tmp_path):
    """A recipe's font set (rendered_fonts) never shrinks silently: a folder that is not there stops the run."""
    system = find_fonts()
    if not system:
        pytest.skip("no TrueType fonts installed (scripts/setup.sh installs them)")
    (tmp_path / "family" / "sub").mkdir(parents=True)
    shutil.copy(system[0], tmp_path / "family" / "sub" / os.path.basename(system[0]))
    (tmp_path / "empty").mkdir()
    assert [os.path.basename(p) for p in find_fonts(str(tmp_path / "family"))] == [os.path.basename(system[0])]
    with pytest.raises(UsageError, match="fonts: no such file or folder .*gone"):
        find_fonts(f"{tmp_path / 'family'},{tmp_path / 'gone'}")
    with pytest.raises(UsageError, match="no Latin-capable"):
        WordRenderer(fonts=str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="word list: no such file"):
        load_words(str(tmp_path / "words.txt"))


def test_the_render_command_reports_a_missing_font_folder_in_one_line(tmp_path, capsys):
    assert render_main(["-o", str(tmp_path / "out"), "--num", "2", "--fonts", str(tmp_path / "gone")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: fonts: no such file or folder {tmp_path / 'gone'} (scripts/setup.sh installs the "
                   "font packages the recipes use)"]
    assert not (tmp_path / "out").exists()


def test_words_are_blended_into_the_photo(tmp_path):
    """With a pure-blue photo as the only background, about a third of the words sit on blue."""
    Image.new("RGB", (400, 300), (0, 0, 255)).save(tmp_path / "blue.png")
    photos = find_backgrounds(str(tmp_path))
    on_blue = 0
    for seed in range(60):
        img = render_word("Photo", random.Random(seed), find_fonts(), photos).astype(np.float32)
        corner = img[:3, :3].reshape(-1, 3).mean(axis=0)                 # BGR: blue is channel 0
        on_blue += corner[0] > 150 and corner[1] < 100 and corner[2] < 100
    assert 8 <= on_blue <= 35


def test_unreadable_background_is_skipped(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    photos = find_backgrounds(str(tmp_path))
    for seed in range(10):                                              # never raises, always renders
        assert render_word("ok", random.Random(seed), find_fonts(), photos).std() > 0


def test_dot_matrix_keeps_the_word_as_separate_round_dots():
    alpha = np.zeros((40, 120, 1), np.float32)
    alpha[10:30, 10:110] = 1.0                                          # a solid bar
    dots = _dot_matrix(alpha, random.Random(0), text_height=20)
    assert dots.shape == alpha.shape and set(np.unique(dots)) <= {0.0, 1.0}
    assert 0.2 * alpha.sum() < dots.sum() < 0.9 * alpha.sum()           # dots, not a fill
    row = dots[20, :, 0]
    assert ((row[1:] == 1) & (row[:-1] == 0)).sum() >= 5                # many separate dots along the bar
    assert dots[:5].sum() == 0 and dots[35:].sum() == 0                 # nothing outside the glyphs


def test_random_strings_mix_digits_into_letters_only_sometimes():
    rng = random.Random(0)
    texts = [sample_text(rng, ("word",)) for _ in range(3000)]
    mixed = [t for t in texts if any(c.isdigit() for c in t) and any(c.isalpha() for c in t)]
    assert 0.02 * len(texts) < len(mixed) < 0.08 * len(texts)


def test_short_word_share_moves_draws_to_short_words_and_is_off_by_default():
    words = ("cat", "ox", "dog", "encyclopaedia", "hippopotamus", "sesquipedalian", "transmogrify", "wonderfully")
    short = short_words(words)
    assert short == ("cat", "ox", "dog")

    def draws(share: float) -> list:
        rng = random.Random(7)
        return [sample_text(rng, words, short=short, short_share=share) for _ in range(4000)]

    rng = random.Random(7)
    plain = [sample_text(rng, words) for _ in range(4000)]   # the renderer's call without the new arguments
    assert draws(0.0) == plain                      # share 0: exactly the stream of the renderer without it

    def short_fraction(texts: list) -> float:
        from_dict = [t for t in texts if t.lower() in words]
        return sum(len(t) <= SHORT_WORD for t in from_dict) / len(from_dict)

    assert short_fraction(plain) < 0.5              # 3 of 8 words are short: 3/8 of uniform draws
    assert 0.71 < short_fraction(draws(0.6)) < 0.79  # expected 0.6 + 0.4 * 3/8 = 0.75 (~2,900 draws: +-0.01)


def test_rendered_short_words_reaches_the_training_renderer(charset):
    cfg = load_config(["--rendered_short_words=0.5", "--rendered_num_samples=400"])
    options = SourceOptions.from_config(cfg)
    source = build_source("rendered", "", charset, options, training=True)
    labels = [source.label(i) for i in range(len(source))]
    plain = build_source("rendered", "", charset, SourceOptions.from_config(load_config(["--rendered_num_samples=400"])),
                         training=True)
    share = lambda ls: sum(len(t) <= SHORT_WORD for t in ls) / len(ls)  # noqa: E731
    assert share(labels) > share([plain.label(i) for i in range(len(plain))]) + 0.2
    with pytest.raises(ConfigError, match="rendered_short_words must be in"):
        load_config(["--rendered_short_words=1.5"])


def test_the_render_command_draws_a_sheet_of_samples_instead_of_a_dataset(tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert render_main(["--sheet", str(sheet), "--num", "7", "--seed", "2", "--backgrounds", "none"]) == 0
    img = np.asarray(Image.open(sheet).convert("L"), dtype=np.float32)
    assert img.shape[1] == 1200 and img.shape[0] >= 2 * 95       # six columns of 200 px, two rows
    assert img.std() > 20                                         # words drawn, not an empty canvas
    assert "drew 7 renderings" in capsys.readouterr().out
    for both_or_neither in (["--sheet", str(sheet), "-o", str(tmp_path / "d")], []):
        with pytest.raises(SystemExit):
            render_main(both_or_neither + ["--num", "2"])
