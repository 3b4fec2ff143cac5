"""eval.py --report: the analysis behind the page (hand-made errors with known confusions), the page as a real
headless browser renders it offline, and eval.py's own numbers on the page."""
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import cv2
import pytest

from src.charset import Charset
from src.data.benchmarks import BenchmarkSource
from src.evaluation import analysis
from src.evaluation.metrics import WordAccuracy
from src.evaluation.scoring import Prediction, SetResult
from tests.conftest import word_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# label -> what the "model" read: the confusions are known by construction
READINGS = [("hello", "hello"), ("world", "wor1d"), ("cola", "c0la"), ("box", "b0x"), ("apple", "aple"),
            ("12", "12"), ("ab3", "ab3x"), ("Tree", "tree"), ("SHOP", "shdp"), ("one", "one")]
EXPECTED_CONFUSIONS = {"o→0": 2, "l→1": 1, "−p": 1, "+x": 1, "o→d": 1}


def prediction(i, label, text, confidence=0.5):
    return Prediction(i, f"img{i}.png", label.lower(), label, text, label.lower() == text, True, confidence)


def test_edit_operations_align_prediction_to_label():
    assert analysis.edit_operations("world", "wor1d") == [("sub", "l", "1")]
    assert analysis.edit_operations("apple", "aple") == [("del", "p", "")]
    assert analysis.edit_operations("ab3", "ab3x") == [("ins", "", "x")]
    assert analysis.edit_operations("", "ab") == [("ins", "", "a"), ("ins", "", "b")]
    assert analysis.edit_operations("same", "same") == []


def test_confusions_count_the_known_errors():
    preds = [prediction(i, label, text) for i, (label, text) in enumerate(READINGS)]
    found = {analysis.describe_operation(op): n for op, n in analysis.confusions(preds)}
    assert found == EXPECTED_CONFUSIONS


def test_breakdowns_by_length_kind_case_and_doubled_characters():
    preds = [prediction(i, label, text) for i, (label, text) in enumerate(READINGS)]
    kinds = {g.name: (g.correct, g.total) for g in analysis.breakdown(preds, lambda p: analysis.label_kind(p.label))}
    assert kinds == {"letters": (3, 8), "digits": (1, 1), "letters+digits": (0, 1)}
    cases = {g.name: (g.correct, g.total) for g in analysis.breakdown(preds, lambda p: analysis.label_case(p.raw_label))}
    assert cases == {"lower": (2, 7), "Title": (1, 1), "UPPER": (0, 1), "no letters": (1, 1)}
    lengths = [g.name for g in analysis.breakdown(preds, lambda p: analysis.length_group(p.label))]
    assert lengths == ["2", "3", "4", "5"]
    assert analysis.length_group("x" * 15) == "12+"
    repeats = {g.name: (g.correct, g.total) for g in analysis.breakdown(preds, lambda p: analysis.label_repeat(p.label))}
    assert repeats == {"doubled character": (2, 3), "no doubled character": (2, 7)}   # hello, apple, tree


def test_coverage_curve_rejects_the_least_confident_first():
    preds = [prediction(0, "a", "a", 0.9), prediction(1, "b", "x", 0.2), prediction(2, "c", "c", 0.8),
             prediction(3, "d", "y", 0.7)]
    curve = analysis.coverage_curve(preds)
    assert list(curve.coverage) == [0.25, 0.5, 0.75, 1.0]
    assert list(curve.accuracy) == [1.0, 1.0, 2 / 3, 0.5]
    assert curve.at_accuracy(0.95) == (0.8, 0.5)      # keep readings with min char probability >= 0.8: half
    assert analysis.coverage_curve([prediction(0, "a", "b", 0.5)]).at_accuracy(0.95) is None


def fixture_set(tmp_path, name):
    """A label-list set whose images exist, and a SetResult with the READINGS as its greedy predictions."""
    folder = tmp_path / name
    (folder / "imgs").mkdir(parents=True)
    lines = []
    for i, (label, _) in enumerate(READINGS):
        cv2.imwrite(str(folder / "imgs" / f"{i}.png"), word_image(label, seed=i))
        lines.append(f"imgs/{i}.png\t{label}")
    (folder / "labels.tsv").write_text("\n".join(lines) + "\n")
    charset = Charset("0123456789abcdefghijklmnopqrstuvwxyz")
    source = BenchmarkSource("list", str(folder), charset=charset, image_size=(32, 100), max_text_length=23,
                             num_frames=24)
    metric = WordAccuracy()
    preds = []
    for i, (label, text) in enumerate(READINGS):
        metric.update(source.key(i), source.label(i), text)
        preds.append(Prediction(i, source.key(i), source.label(i), label, text, metric.records[-1][3], True,
                                0.1 * (i + 1)))
    return SetResult(name, len(READINGS), 0, 1.0, decoders={"greedy": metric}, predictions={"greedy": preds},
                     source=source)


class ReportPage(HTMLParser):
    """What a check needs from the rendered page: body attributes, sections, each table's rows by its class."""

    def __init__(self):
        super().__init__()
        self.body, self.sets, self.tables, self._cells, self._in = {}, [], {}, None, None

    @property
    def confusions(self):
        return self.tables.get("confusions", [])

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        elif tag == "section":
            self.sets.append(attrs.get("data-set"))
        elif tag == "table":
            self._in = (attrs.get("class") or "").split(" ")[0] or None
        elif tag == "tr" and self._in:
            self._cells = []
        elif tag == "td" and self._cells is not None:
            self._cells.append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = None
        elif tag == "tr" and self._cells:
            self.tables.setdefault(self._in, []).append(tuple(self._cells))
            self._cells = None

    def handle_data(self, data):
        if self._cells:
            self._cells[-1] += data.strip()


def render_offline(page: str) -> str:
    """The page's DOM after a real headless Chromium loaded it with no network (its own network namespace)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("no chromium (scripts/setup.sh installs Debian's chromium package)")
    if os.geteuid() != 0 or not shutil.which("unshare") or subprocess.run(["unshare", "-n", "true"]).returncode:
        pytest.skip("cannot take the network away from the browser (needs root and unshare -n)")
    res = subprocess.run(["unshare", "-n", browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          f"file://{os.path.abspath(page)}"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.mark.system
def test_the_report_renders_offline_with_every_set_thumbnail_and_known_confusion(tmp_path):
    from src.evaluation.report import write_report

    results = [fixture_set(tmp_path, "signs"), fixture_set(tmp_path, "shops")]
    page = write_report(str(tmp_path / "report"), results, model="fixture.ckpt", max_errors=3)
    parsed = ReportPage()
    parsed.feed(render_offline(page))
    assert parsed.sets == ["signs", "shops"]
    errors = sum(not ok for _, _, _, ok in results[0].decoders["greedy"].records)
    assert int(parsed.body["data-images"]) == 2 * (3 + 2) and parsed.body["data-broken-images"] == "0"  # 3 + 2 plots
    table = {op: int(n) for op, n in parsed.confusions[: len(EXPECTED_CONFUSIONS)]}
    assert table == EXPECTED_CONFUSIONS and len(parsed.confusions) == 2 * len(EXPECTED_CONFUSIONS)
    assert parsed.tables["by-repeat"] == 2 * [("doubled character", "66.7%", "3"), ("no doubled character", "28.6%", "7")]
    html = open(page, encoding="utf-8").read()
    assert f"and {errors - 3} more" in html and "0.4000 (4/10)" in html
    assert "http" not in html.replace("http-equiv", "")           # nothing to fetch from a network
    os.remove(os.path.join(os.path.dirname(page), "images", "signs", "1.png"))
    parsed = ReportPage()
    parsed.feed(render_offline(page))
    assert parsed.body["data-broken-images"] == "1"                # the check sees a missing thumbnail


@pytest.mark.system
def test_eval_report_numbers_equal_the_accuracy_lines_and_compare_two_models(tmp_path, iiit5k_dir):
    from tests.test_benchmarks_real import write_icdar

    root = tmp_path / "sets"
    shutil.copytree(iiit5k_dir, root / "IIIT5K")
    labels = ["parking", "shop", "open", "exit", "coffee", "hotel", "bank", "bus"]
    text = write_icdar(str(root / "IC15" / "ch4_test_word_images_gt"), "gt", labels)
    (root / "IC15" / "Challenge4_Test_Task3_GT.txt").write_bytes(text.encode("utf-8"))
    report = tmp_path / "report"
    ckpt = os.path.join(ROOT, "checkpoints", "crnn_cpu.ckpt")
    res = subprocess.run([sys.executable, "eval.py", "--eval_dataset=all", f"--eval_dataset_path={root}",
                          f"--checkpoint_path={ckpt}", f"--report={report}", "--decoders=greedy,beam:5",
                          f"--compare_checkpoint_path={ckpt}", "--backend=mindspore"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    printed = {m.group(1): (m.group(2), m.group(3), m.group(4))
               for m in re.finditer(r"^(\S+): accuracy=([0-9.]+) correct=(\d+) total=(\d+) char_accuracy=[0-9.]+$",
                                    res.stdout, re.M)}
    html = (report / "index.html").read_text()
    cells = dict(re.findall(r'data-set="([^"]+)" data-decoder="greedy">([^<]+)</td>', html))
    assert set(cells) == {"iiit5k", "ic15"}
    for name, cell in cells.items():
        accuracy, correct, total = printed[name]
        assert cell == f"{accuracy} ({correct}/{total})"
    beam = dict(re.findall(r'data-set="([^"]+)" data-decoder="beam:5">([^<]+)</td>', html))
    assert beam["ic15"].startswith(printed["ic15/beam:5"][0])
    # compared with itself: the same accuracy, no word read by one model only
    assert html.count("0 read by this model only") == 2 and html.count("0 read by the other model only") == 2


@pytest.mark.system
def test_one_per_character_definition_in_eval_tsv_infer_and_the_recognizer(tmp_path):
    """The predictions TSV, infer.py --char_probs and Recognizer.read give the same per-character numbers."""
    folder = tmp_path / "set"
    (folder / "imgs").mkdir(parents=True)
    words = ["parking", "exit", "hotel"]
    for i, w in enumerate(words):
        cv2.imwrite(str(folder / "imgs" / f"{i}.png"), word_image(w, seed=i))
    (folder / "labels.tsv").write_text("".join(f"imgs/{i}.png\t{w}\n" for i, w in enumerate(words)))
    ckpt = os.path.join(ROOT, "checkpoints", "crnn_cpu.ckpt")
    tsv = tmp_path / "pred.tsv"
    res = subprocess.run([sys.executable, "eval.py", "--eval_dataset=list", f"--eval_dataset_path={folder}",
                          f"--checkpoint_path={ckpt}", f"--save_predictions={tsv}", "--backend=mindspore"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert rows[0][-2:] == ["min_char_prob", "char_probs"]
    from_eval = {os.path.basename(r[0]): (r[2], r[5], r[6]) for r in rows[1:]}
    res = subprocess.run([sys.executable, "infer.py", str(folder / "imgs"), "--checkpoint_path", ckpt,
                          "--backend", "mindspore", "--char_probs"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    from_infer = {os.path.basename(line.split("\t")[0]): tuple(line.split("\t")[i] for i in (1, 3, 4))
                  for line in res.stdout.splitlines() if "\t" in line}
    assert from_infer == from_eval
    for name, (text, weakest, probs) in from_eval.items():
        assert len(probs.split(",")) == len(text) and float(weakest) == min(float(p) for p in probs.split(","))


def test_recognizer_read_gives_the_predicted_words_with_their_characters(tmp_path):
    import numpy as np

    from src.model.backend import Backend
    from src.serve.recognizer import Recognizer

    class Fixed(Backend):
        """Logits spelling "ab" on 24 frames whatever the image."""

        def __call__(self, images):
            logits = np.full((24, len(images), 3), -5.0, np.float32)
            logits[:, :, 2] = 5.0          # blank
            logits[3:5, :, 0] = 6.0        # a
            logits[9, :, 1] = 5.5          # b, less sure
            return logits

    recognizer = Recognizer(Fixed(), Charset("ab"))
    images = [np.zeros((32, 80, 3), np.uint8)] * 2
    readings = recognizer.read(images)
    assert [(r.text, r.confidence) for r in readings] == recognizer.predict(images)
    chars = readings[0].chars
    assert [(c.char, c.start, c.end) for c in chars] == [("a", 3, 5), ("b", 9, 10)]
    assert readings[0].min_char_prob == pytest.approx(chars[1].prob) and chars[1].prob < chars[0].prob


def test_the_case_table_appears_only_where_labels_show_more_than_one_case():
    from src.evaluation.report import case_breakdown

    mixed = [prediction(i, label, text) for i, (label, text) in enumerate(READINGS)]
    assert [g.name for g in case_breakdown(mixed)] == ["lower", "UPPER", "Title", "no letters"]
    lowered = [prediction(i, label.lower(), text) for i, (label, text) in enumerate(READINGS)]
    assert case_breakdown(lowered) == []            # lower + "no letters": one case, no table
