"""Shared fixtures: every dataset a test needs is made here, nothing is downloaded."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict, List

import cv2
import numpy as np
import pytest

from src.data.benchmarks import SHARED_IIIT5K  # noqa: F401  (tests import it from here)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # pyproject.toml puts it on sys.path


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request, monkeypatch):
    """A test without the ``system`` mark must not start a process (that is what keeps ``-m "not system"``
    fast): starting one fails with the test's name, so the mark cannot be forgotten."""
    if request.node.get_closest_marker("system") is not None:
        return
    original = subprocess.Popen.__init__

    def refuse(self, *args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == subprocess.__file__:
            frame = frame.f_back
        if frame is not None and "site-packages" in frame.f_code.co_filename:  # a library's own (MindSpore: lscpu)
            return original(self, *args, **kwargs)
        raise AssertionError(f"{request.node.nodeid} starts a subprocess: mark it @pytest.mark.system")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


def word_image(text: str, height: int = 32, seed: int = 0) -> np.ndarray:
    """A quick synthetic BGR word image (cv2 Hershey font) of roughly 32 px height."""
    rng = np.random.default_rng(seed)
    width = max(16, 18 * len(text) + 8)
    img = np.full((height, width, 3), rng.integers(150, 255), np.uint8)
    cv2.putText(img, text, (4, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return img


@pytest.fixture()
def cfg():
    from src.config import load_config
    return load_config([])


@pytest.fixture()
def charset(cfg):
    from src.charset import Charset
    return Charset.from_config(cfg)


def write_mjsynth(root: str, words: List[str], extra_lines: List[str] = ()) -> Dict[str, str]:
    """MJSynth layout: ./<d>/<i>_<Word>_<lexidx>.jpg, annotation_train.txt, lexicon.txt."""
    os.makedirs(os.path.join(root, "1"), exist_ok=True)
    lexicon = sorted(set(words))
    lines = []
    paths = {}
    for i, w in enumerate(words):
        idx = lexicon.index(w)
        rel = f"./1/{i}_{w}_{idx}.jpg"
        cv2.imwrite(os.path.join(root, rel), word_image(w, seed=i))
        lines.append(f"{rel} {idx}")
        paths[w] = os.path.join(root, rel)
    with open(os.path.join(root, "lexicon.txt"), "w") as f:
        f.write("\n".join(lexicon) + "\n")
    with open(os.path.join(root, "annotation_train.txt"), "w") as f:
        f.write("\n".join(lines + list(extra_lines)) + "\n")
    return paths


@pytest.fixture()
def mjsynth_dir(tmp_path):
    """A small MJSynth folder with one corrupt JPEG and one label outside the alphabet."""
    root = str(tmp_path / "mjsynth")
    words = ["hello", "World", "coffee", "42", "exit", "Street", "open", "hotel", "caf\u00e9", "broken"]
    paths = write_mjsynth(root, words)
    with open(paths["broken"], "wb") as f:          # truncated JPEG: header only
        f.write(cv2.imencode(".jpg", word_image("broken"))[1].tobytes()[:200])
    return root


@pytest.fixture()
def iiit5k_dir(tmp_path):
    """IIIT5K layout with awkward PNGs: grayscale, RGBA, 16-bit, tiny, very wide."""
    root = tmp_path / "IIIT5K"
    (root / "test").mkdir(parents=True)
    base = word_image("parking")
    images = {
        "1_1.png": (base, "PARKING"),
        "2_1.png": (cv2.cvtColor(base, cv2.COLOR_BGR2GRAY), "Gray"),
        "3_1.png": (cv2.cvtColor(base, cv2.COLOR_BGR2BGRA), "rgba"),
        "4_1.png": ((cv2.cvtColor(base, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257), "deep16"),
        "5_1.png": (np.full((1, 1, 3), 200, np.uint8), "x"),
        "6_1.png": (cv2.resize(base, (2000, 10)), "wide"),
    }
    lines = []
    for name, (img, label) in images.items():
        cv2.imwrite(str(root / "test" / name), img)
        lines.append(f"test/{name},{label}")
    (root / "annotation.txt").write_text("\n".join(lines) + "\n")
    return str(root)
