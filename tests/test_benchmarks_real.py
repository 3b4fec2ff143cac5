"""Loaders for the real benchmark layouts (IC13, IC15, SVT, label lists, IIIT5K .mat) and ``all`` discovery,
on fixtures written in each official format: BOM, CRLF, escaped quotes, empty/space/punctuation labels."""
import os

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from src.data.benchmarks import BenchmarkSource, read_image_lexicons
from src.data.source import STATUS_MISSING, STATUS_OK, SourceError
from src.evaluation.scoring import discover_sets, summary_lines
from src.evaluation.metrics import WordAccuracy
from tests.conftest import word_image


def common(charset):
    return dict(charset=charset, image_size=(32, 100), max_text_length=23, num_frames=24)


def write_icdar(folder, gt_name, labels, bom=True, missing=()):
    """ICDAR word GT: ``word_N.png, "label"`` with a BOM and CRLF, quotes escaped as ``\\"``."""
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i, label in enumerate(labels, 1):
        if i not in missing:
            cv2.imwrite(os.path.join(folder, f"word_{i}.png"), word_image(label or "x", seed=i))
        lines.append(f'word_{i}.png, "{label.replace(chr(34), chr(92) + chr(34))}"')
    text = ("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n"
    return text


IC15_LABELS = ['JOINT', '"SCAN"', 'READER"', 'Genaxis Theatre', '[06]', '62-03', 'a', '']


@pytest.fixture()
def ic15_root(tmp_path):
    root = tmp_path / "IC15"
    test_dir = root / "ch4_test_word_images_gt"
    text = write_icdar(str(test_dir), "gt", IC15_LABELS, missing=(2,))
    (root / "Challenge4_Test_Task3_GT.txt").write_bytes(text.encode("utf-8"))
    train_dir = root / "ch4_training_word_images_gt"
    text = write_icdar(str(train_dir), "gt", IC15_LABELS)
    (train_dir / "gt.txt").write_bytes(text.encode("utf-8"))
    return str(root)


def test_ic15_test_reads_bom_crlf_escaped_quotes_and_counts_missing_image(charset, ic15_root):
    src = BenchmarkSource("ic15", ic15_root, **common(charset))
    assert len(src) == len(IC15_LABELS)           # evaluation keeps every label
    assert src.raw_label(1) == '"scan"' and src.raw_label(2) == 'reader"' and src.raw_label(3) == "genaxis theatre"
    assert src.key(0).endswith(os.path.join("ch4_test_word_images_gt", "word_1.png"))
    assert int(src[1][3]) == STATUS_MISSING and int(src[0][3]) == STATUS_OK


def test_ic15_train_strips_characters_outside_the_alphabet_and_skips_empty(charset, ic15_root):
    src = BenchmarkSource("ic15", ic15_root, filter_labels=True, **common(charset))
    assert src.labels == ["joint", "scan", "reader", "genaxistheatre", "06", "6203", "a"]
    assert src.stripped == 5 and sum(src.skips.values()) == 1     # the empty label
    assert "5 labels lost characters" in src.summary()


def test_ic13_both_gt_names_images_subfolder_and_the_1015_857_protocols(charset, tmp_path):
    labels = ["Tiredness", "kills", "A", "it's", "2013", "ok"]
    for gt_name in ("Challenge2_Test_Task3_GT.txt", "gt.txt"):
        root = tmp_path / gt_name
        text = write_icdar(str(root / "Challenge2_Test_Task3_Images"), gt_name, labels, bom=False)
        (root / gt_name).write_bytes(text.encode())
        src = BenchmarkSource("ic13", str(root), **common(charset))
        assert src.labels == ["tiredness", "kills", "a", "2013", "ok"]     # "it's" is not alphanumeric
        assert src.subsets["ic13_857"] == [True, True, False, True, False]
        assert src[0][3] == STATUS_OK


def test_svt_picks_the_split_folder_and_reads_the_word_from_the_name(charset, tmp_path):
    for split, word in (("test", "HOTEL"), ("train", "DOLL")):
        os.makedirs(tmp_path / "SVT" / split)
        cv2.imwrite(str(tmp_path / "SVT" / split / f"00_00_0_{word}.jpg"), word_image(word))
    assert BenchmarkSource("svt", str(tmp_path / "SVT"), **common(charset)).labels == ["hotel"]
    assert BenchmarkSource("svt", str(tmp_path / "SVT"), filter_labels=True, **common(charset)).labels == ["doll"]


def test_label_list_relative_paths_tabs_and_bad_lines(charset, tmp_path):
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), word_image("hello"))
    (tmp_path / "labels.tsv").write_text("\ufeffimgs/a.png\tHello World\r\nimgs/gone.png\tbye\r\n")
    src = BenchmarkSource("list", str(tmp_path / "labels.tsv"), **common(charset))
    assert src.labels == ["hello world", "bye"] and int(src[1][3]) == STATUS_MISSING
    assert BenchmarkSource("list", str(tmp_path), **common(charset)).labels == src.labels  # a folder: its labels.tsv
    (tmp_path / "bad.tsv").write_text("imgs/a.png hello\n")
    with pytest.raises(SourceError, match=r"bad.tsv:1: expected '<image path><TAB><label>'"):
        BenchmarkSource("list", str(tmp_path / "bad.tsv"), **common(charset))
    with pytest.raises(SourceError, match="not found"):
        BenchmarkSource("list", str(tmp_path / "nope.tsv"), **common(charset))


def test_iiit5k_reads_testdata_mat_and_its_lexicons_without_conversion(charset, tmp_path):
    root = tmp_path / "IIIT5K"
    (root / "test").mkdir(parents=True)
    cv2.imwrite(str(root / "test" / "1_1.png"), word_image("PARK"))
    cv2.imwrite(str(root / "test" / "2_1.png"), word_image("SALE"))
    dtype = [("ImgName", object), ("GroundTruth", object), ("smallLexi", object), ("mediumLexi", object)]
    data = np.zeros((1, 2), dtype=dtype)
    data[0, 0] = ("test/1_1.png", "PARK", np.array(["PARK", "BARK"], dtype=object), np.array(["PARK"], dtype=object))
    data[0, 1] = ("test/2_1.png", "SALE", np.array(["SALE", "PALE"], dtype=object), np.array(["SALE"], dtype=object))
    savemat(str(root / "testdata.mat"), {"testdata": data})
    src = BenchmarkSource("iiit5k", str(root), **common(charset))
    assert src.labels == ["park", "sale"]
    assert read_image_lexicons(str(root), "small", [src.key(1), src.key(0)]) == [["SALE", "PALE"], ["PARK", "BARK"]]


def test_discover_sets_by_folder_name_and_label_lists(tmp_path):
    for name in ("IIIT5K", "IC13", "SVT", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "labels.tsv").write_text("a.png\tx\n")
    found = discover_sets(str(tmp_path))
    assert [(n, k) for n, k, _ in found] == [("iiit5k", "iiit5k"), ("svt", "svt"), ("ic13", "ic13"), ("mine", "list")]
    with pytest.raises(SourceError, match="no benchmark folder"):
        discover_sets(str(tmp_path / "notes"))


def test_average_is_weighted_by_crops_and_mean_is_not():
    from src.evaluation.scoring import SetResult

    def result(name, correct, total):      # the misread words half right by characters
        metric = WordAccuracy(correct=correct, total=total, similarities=[1.0] * correct + [0.5] * (total - correct))
        return SetResult(name, total, 0, 1.0, decoders={"greedy": metric})

    lines = summary_lines([result("a", 9, 10), result("b", 10, 90)], "greedy")
    assert lines == ["average: accuracy=0.1900 correct=19 total=100 char_accuracy=0.5950",
                     "mean: accuracy=0.5056 sets=2"]


def test_results_table_puts_each_set_and_subset_next_to_the_peers():
    from src.evaluation.scoring import SetResult, results_table

    ic13 = SetResult("ic13", 1015, 0, 1.0, decoders={"greedy": WordAccuracy(correct=812, total=1015)},
                     subsets={"ic13_857": {"greedy": WordAccuracy(correct=700, total=857)}})
    mine = SetResult("mine", 10, 0, 1.0, decoders={"greedy": WordAccuracy(correct=5, total=10)})
    lines = results_table([ic13, mine]).splitlines()
    assert lines[0].startswith("| set (crops) | this model | Tesseract")
    assert lines[2] == "| ic13 (1015) | 80.0 | 75.1 | 78.3 | 95.3 | 92.9 MindSpore ref · 90.8 mindocr |"
    assert lines[3].startswith("| ic13_857 (857) | 81.7 | 77.6 |") and lines[4].startswith("| mine (10) | 50.0 |")


def test_evaluation_logs_progress_lines_when_there_is_no_terminal(charset, ic15_root, monkeypatch, caplog):
    """Without a terminal (a log file, CI) tqdm is off: progress comes as log lines instead."""
    import logging

    import src.evaluation.scoring as evaluation
    from src.serve.backends import Backend

    class Zeros(Backend):
        name = "zeros"

        def __call__(self, images):
            return np.zeros((24, len(images), charset.num_classes), np.float32)

    monkeypatch.setattr(evaluation, "LOG_EVERY_SECONDS", 0.0)
    source = BenchmarkSource("ic15", ic15_root, **common(charset))
    with caplog.at_level(logging.INFO, logger="crnn"):
        outputs = evaluation.collect_outputs(Zeros(), source, batch_size=2, num_workers=1, progress=True)
    assert len(outputs.keys) == len(IC15_LABELS)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("eval ic15:")]
    assert lines and lines[0].startswith("eval ic15: 2/8 images") and "img/s, eta" in lines[0]
