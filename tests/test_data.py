import os
from collections import Counter

import cv2
import numpy as np
import pytest

from src.data.benchmarks import BenchmarkSource
from src.data.pipeline import SourceOptions, build_source, epoch_indices, eval_indices, make_dataset
from src.data.source import STATUS_MISSING, STATUS_OK, STATUS_UNREADABLE, SourceError
from src.data.synth import BAD_INDEX, MJSynthSource, word_from_filename
from src.charset import OOV
from tests.conftest import word_image


def common(cfg, charset):
    return dict(charset=charset, image_size=(32, 100), max_text_length=23, num_frames=24)


def test_synth_loader_counts_oov_and_marks_corrupt_jpeg(cfg, charset, mjsynth_dir):
    src = MJSynthSource(mjsynth_dir, "train", **common(cfg, charset))
    assert src.skips[OOV] == 1                       # "café"
    assert len(src) == 9 and "hello" in src.labels and "world" in src.labels
    statuses = Counter(int(src[i][3]) for i in range(len(src)))
    assert statuses == {STATUS_OK: 8, STATUS_UNREADABLE: 1}
    image, label, length, status, index = src[src.labels.index("hello")]
    assert image.shape == (32, 100, 3) and image.dtype == np.uint8
    assert length == 5 and label[:5].tolist() == [17, 14, 21, 21, 24] and label[5] == 36
    assert "9 of 10 samples kept" in src.summary()


def test_synth_lexicon_index_out_of_range_is_reported(cfg, charset, mjsynth_dir, caplog):
    with open(os.path.join(mjsynth_dir, "annotation_train.txt"), "a") as f:
        f.write("./1/0_hello_3.jpg 999\n")
    src = MJSynthSource(mjsynth_dir, "train", **common(cfg, charset))
    assert src.skips[BAD_INDEX] == 1
    assert "line 11" in caplog.text


def test_synth_missing_paths_give_clear_errors(cfg, charset, tmp_path):
    with pytest.raises(SourceError, match="not found"):
        MJSynthSource(str(tmp_path / "nope"), "train", **common(cfg, charset))
    (tmp_path / "annotation_train.txt").write_text("\n")
    with pytest.raises(SourceError, match="empty"):
        MJSynthSource(str(tmp_path), "train", **common(cfg, charset))


def test_word_from_filename():
    assert word_from_filename("./3000/6/501_UNIVERSAL_82748.jpg") == "UNIVERSAL"


def test_iiit5k_loader_reads_awkward_pngs(cfg, charset, iiit5k_dir):
    src = BenchmarkSource("iiit5k", iiit5k_dir, **common(cfg, charset))
    assert len(src) == 6
    for i in range(len(src)):
        image, _, _, status, _ = src[i]
        assert status == STATUS_OK and image.shape == (32, 100, 3)
    # 16-bit grayscale keeps its content after scaling to 8 bits
    assert src[3][0].std() > 10


def test_missing_image_is_flagged_not_fatal(cfg, charset, iiit5k_dir):
    with open(os.path.join(iiit5k_dir, "annotation.txt"), "a") as f:
        f.write("test/gone.png,gone\n")
    src = BenchmarkSource("iiit5k", iiit5k_dir, **common(cfg, charset))
    assert int(src[len(src) - 1][3]) == STATUS_MISSING


def test_ic13_ic03_svt_formats(cfg, charset, tmp_path):
    import cv2
    ic13 = tmp_path / "ic13"
    ic13.mkdir()
    for i, w in enumerate(["Tiredness", "No", "a&b", "KIDS"], 1):
        cv2.imwrite(str(ic13 / f"word_{i}.png"), word_image(w))
    (ic13 / "Challenge2_Test_Task3_GT.txt").write_text(
        'word_1.png, "Tiredness"\nword_2.png, "No"\nword_3.png, "a&b"\nword_4.png, "KIDS"\n')
    src = BenchmarkSource("ic13", str(ic13), **common(cfg, charset))
    assert src.labels == ["tiredness", "no", "kids"] and sum(src.skips.values()) == 1   # the 1015 protocol
    assert src.subsets["ic13_857"] == [True, False, True]                                # and the 857

    ic03 = tmp_path / "ic03"
    ic03.mkdir()
    cv2.imwrite(str(ic03 / "img_0_SALE.jpg"), word_image("SALE"))
    (ic03 / "annotation.txt").write_text("img_0_SALE.jpg,SALE,\n")
    assert BenchmarkSource("ic03", str(ic03), **common(cfg, charset)).labels == ["sale"]

    svt = tmp_path / "svt"
    svt.mkdir()
    cv2.imwrite(str(svt / "00_01_0_HOTEL.jpg"), word_image("HOTEL"))
    assert BenchmarkSource("svt", str(svt), **common(cfg, charset)).labels == ["hotel"]


def test_epoch_indices_shard_disjointly_with_equal_steps():
    shards = [epoch_indices(103, 8, epoch=2, seed=5, shuffle=True, num_shards=2, shard_id=r) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 48
    assert not set(shards[0]) & set(shards[1])
    again = epoch_indices(103, 8, epoch=2, seed=5, shuffle=True, num_shards=2, shard_id=0)
    assert np.array_equal(shards[0], again)
    assert not np.array_equal(shards[0], epoch_indices(103, 8, 3, 5, True, 2, 0))
    with pytest.raises(SourceError, match="fewer than one batch"):
        epoch_indices(10, 8, 0, 0, True, num_shards=2)


def test_eval_indices_cover_everything_in_order():
    idx, real = eval_indices(10, 4)
    assert real == 10 and len(idx) == 12 and idx[:10].tolist() == list(range(10))


def test_pipeline_batches(cfg, charset, mjsynth_dir):
    src = build_source("synth", mjsynth_dir, charset, SourceOptions.from_config(cfg), training=True)
    ds = make_dataset(src, epoch_indices(len(src), 4, 0, 0, True), 4, 2)
    batches = list(ds.create_tuple_iterator(num_epochs=1, output_numpy=True))
    assert len(batches) == 2
    images, labels, lengths, status, index = batches[0]
    assert images.shape == (4, 3, 32, 100) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0
    assert labels.shape == (4, 23) and lengths.dtype == np.int32
    # worker processes build whole batches (one transfer per batch): the same batches as one thread
    one = list(make_dataset(src, epoch_indices(len(src), 4, 0, 0, True), 4, 1)
               .create_tuple_iterator(num_epochs=1, output_numpy=True))
    assert len(one) == len(batches)
    for a, b in zip(one, batches):
        assert all(x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def test_rendered_source_is_deterministic(cfg, charset):
    a = build_source("rendered", "", charset, SourceOptions.from_config(cfg), training=True, epoch=1)
    b = build_source("rendered", "", charset, SourceOptions.from_config(cfg), training=True, epoch=1)
    assert a.labels[:20] == b.labels[:20]
    assert np.array_equal(a[3][0], b[3][0])
    c = build_source("rendered", "", charset, SourceOptions.from_config(cfg), training=True, epoch=2)
    assert a.labels[:20] != c.labels[:20]


def reference_preprocess(path, size):
    """The reference CRNN's preprocessing, re-stated: PIL RGB -> BGR array, MindSpore's Resize (bilinear),
    Normalize(127.5, 127.5), HWC2CHW."""
    import mindspore.dataset.vision as vision
    from PIL import Image

    r, g, b = Image.open(path).convert("RGB").split()
    bgr = np.array(Image.merge("RGB", (b, g, r)))
    return vision.HWC2CHW()(vision.Normalize([127.5] * 3, [127.5] * 3)(vision.Resize(size)(bgr)))


def test_preprocessing_matches_the_reference_on_odd_sizes(tmp_path):
    from src.data.transforms import decode_bgr, preprocess

    rng = np.random.default_rng(0)
    differs_with_area = 0
    for h, w in [(10, 2000), (300, 900), (7, 5), (120, 40), (33, 101), (64, 200), (1, 1)]:
        img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.0)
        path = str(tmp_path / f"{h}x{w}.png")
        cv2.imwrite(path, img)
        ref = reference_preprocess(path, (32, 100))
        ours = preprocess(decode_bgr(open(path, "rb").read()), (32, 100))
        assert ours.shape == ref.shape == (3, 32, 100)
        assert np.abs(ours - ref).max() <= 1 / 127.5 + 1e-6, (h, w)   # at most one grey level apart
        area = preprocess(decode_bgr(open(path, "rb").read()), (32, 100), "area")
        differs_with_area += np.abs(area - ref).max() > 10 / 127.5    # the option changes big shrinks only
    assert differs_with_area == 3
