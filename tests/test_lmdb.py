import os

import cv2
import lmdb
import numpy as np
import pytest

from src.charset import OOV
from src.data.benchmarks import BenchmarkSource
from src.data.create_lmdb import main as create_lmdb_main, parse_list_file
from src.data.lmdb_dataset import LmdbSource
from src.data.source import STATUS_NO_KEY, STATUS_OK, STATUS_REASONS, STATUS_UNREADABLE, SourceError
from src.data.synth import MJSynthSource
from tests.conftest import word_image

KW = dict(image_size=(32, 100), max_text_length=23, num_frames=24)


def raw_lmdb(path, samples, count=None):
    """Write an image+label LMDB by hand: samples = [(bytes or None, label or None)]."""
    os.makedirs(path, exist_ok=True)
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i, (img, label) in enumerate(samples, 1):
            if img is not None:
                txn.put(f"image-{i:09d}".encode(), img)
            if label is not None:
                txn.put(f"label-{i:09d}".encode(), label.encode())
        txn.put(b"num-samples", str(len(samples) if count is None else count).encode())
    env.close()


def jpeg(text):
    return cv2.imencode(".jpg", word_image(text))[1].tobytes()


def test_create_lmdb_from_mjsynth_skips_corrupt_and_reads_back(tmp_path, mjsynth_dir, charset):
    out = str(tmp_path / "mj.lmdb")
    assert create_lmdb_main(["--input", mjsynth_dir, "--output", out]) == 0
    assert not os.path.exists(out + ".partial")
    skipped = open(os.path.join(out, "skipped.txt")).read()
    assert "broken" in skipped and "image unreadable" in skipped
    src = LmdbSource(out, charset=charset, filter_labels=True, **KW)
    assert len(src) == 9                                   # 10 entries - 1 corrupt
    statuses = [int(src[i][3]) for i in range(len(src))]
    assert statuses.count(STATUS_OK) == 8                  # café filtered when read, with its reason
    assert STATUS_REASONS[[s for s in statuses if s][0]] == OOV
    # rerun is safe: same content
    assert create_lmdb_main(["--input", mjsynth_dir, "--output", out]) == 0
    assert len(LmdbSource(out, charset=charset, **KW)) == 9


def test_bad_records_are_flagged_not_fatal(tmp_path, charset):
    raw_lmdb(tmp_path / "db", [(jpeg("good"), "good"), (b"", "zero"), (b"not an image", "text"),
                               (jpeg("x"), ""), (jpeg("long"), "a" * 40), (None, "nokey")], count=7)
    src = LmdbSource(str(tmp_path / "db"), charset=charset, filter_labels=True, **KW)
    st = [int(src[i][3]) for i in range(len(src))]
    assert st[0] == STATUS_OK and st[1] == st[2] == STATUS_UNREADABLE
    assert STATUS_REASONS[st[3]] == "empty label" and STATUS_REASONS[st[4]] == "label longer than max_text_length"
    assert st[5] == STATUS_NO_KEY and st[6] == STATUS_NO_KEY  # 7th declared, never written


def test_concatenated_roots_and_sub_lmdbs(tmp_path, charset):
    raw_lmdb(tmp_path / "mj" / "a", [(jpeg("one"), "one")])
    raw_lmdb(tmp_path / "mj" / "b", [(jpeg("two"), "two"), (jpeg("three"), "three")])
    raw_lmdb(tmp_path / "st", [(jpeg("four"), "four")])
    src = LmdbSource(f"{tmp_path / 'mj'},{tmp_path / 'st'}", charset=charset, **KW)
    assert [src.label(i) for i in range(len(src))] == ["one", "two", "three", "four"]
    (tmp_path / "plain").mkdir()
    with pytest.raises(SourceError, match="not an LMDB"):
        LmdbSource(str(tmp_path / "plain"), charset=charset, **KW)


def test_same_images_same_predictions_folder_vs_lmdb(tmp_path, iiit5k_dir, cfg, charset):
    from src.evaluation.scoring import evaluate_network
    from src.model import build_crnn

    out = str(tmp_path / "iiit.lmdb")
    assert create_lmdb_main(["--input", iiit5k_dir, "--output", out]) == 0
    folder = BenchmarkSource("iiit5k", iiit5k_dir, charset=charset, **KW)
    db = LmdbSource(out, charset=charset, filter_labels=False, **KW)
    for i in range(len(folder)):
        assert np.array_equal(folder[i][0], db[i][0])
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    net.set_train(False)
    a = evaluate_network(net, folder, charset, 4, 1)
    b = evaluate_network(net, db, charset, 4, 1)
    assert [r[2] for r in a.records] == [r[2] for r in b.records] and a.total == b.total == 6


def test_mmocr_syn90k_layout_label_txt_and_lmdb(tmp_path, charset):
    root = tmp_path / "Syn90k"
    img_dir = root / "mnt" / "ramdisk" / "max" / "90kDICT32px" / "1" / "2"
    img_dir.mkdir(parents=True)
    lines = []
    for i, w in enumerate(["coffee", "Hotel", "exit"]):
        cv2.imwrite(str(img_dir / f"{i}_{w}_{i}.jpg"), word_image(w))
        lines.append(f"mnt/ramdisk/max/90kDICT32px/1/2/{i}_{w}_{i}.jpg {w}")
    (root / "label.txt").write_text("\n".join(lines) + "\n")
    for path in (root, root / "mnt" / "ramdisk" / "max" / "90kDICT32px"):
        src = MJSynthSource(str(path), "train", charset=charset, **KW)
        assert src.labels == ["coffee", "hotel", "exit"] and all(int(src[i][3]) == 0 for i in range(3))
    os.remove(root / "label.txt")
    env = lmdb.open(str(root / "label.lmdb"), map_size=1 << 22)
    with env.begin(write=True) as txn:
        for i, line in enumerate(lines):
            txn.put(str(i).encode(), line.encode())
        txn.put(b"total_number", b"3")
    env.close()
    assert MJSynthSource(str(root), "train", charset=charset, **KW).labels == ["coffee", "hotel", "exit"]


def test_list_file_formats(tmp_path):
    (tmp_path / "l.txt").write_text("a.jpg hello\nb.png,World\n")
    assert [(os.path.basename(p), l) for p, l in parse_list_file(str(tmp_path / "l.txt"))] == [
        ("a.jpg", "hello"), ("b.png", "World")]


def test_lmdb_writer_uses_the_charset_label_rules(charset):
    from src.charset import EMPTY, OOV, TOO_LONG
    from src.data.create_lmdb import label_problem

    assert label_problem("Hello", charset) is None                     # case-folded like training labels
    assert label_problem("café", charset) == OOV
    assert label_problem("", charset) == EMPTY and label_problem("", None) == EMPTY
    assert label_problem("abcdef", charset, max_length=5) == TOO_LONG
    assert label_problem("abcdef", None, max_length=5) == TOO_LONG
    assert label_problem("any thing!", None) is None                    # no alphabet: anything non-empty
