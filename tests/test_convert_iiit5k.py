import subprocess
import sys

import numpy as np
import pytest
from scipy.io import savemat

from tests.conftest import ROOT

pytestmark = pytest.mark.system  # every test here starts train/eval/export/infer subprocesses


def official_struct(names, words, label_field="GroundTruth", lexicons=True):
    """A 1xN MATLAB struct array in the official IIIT5K nesting."""
    fields = [("ImgName", "O"), (label_field, "O")] + ([("smallLexi", "O"), ("mediumLexi", "O")] if lexicons else [])
    arr = np.zeros((1, len(names)), dtype=fields)
    for i, (n, w) in enumerate(zip(names, words)):
        arr[0, i]["ImgName"] = np.array([n])
        arr[0, i][label_field] = np.array([w])
        if lexicons:
            small = np.empty((3, 1), dtype=object)
            for j, lw in enumerate([w, "other", "words"]):
                small[j, 0] = np.array([lw])
            arr[0, i]["smallLexi"] = small
            arr[0, i]["mediumLexi"] = small
    return arr


def run(*args):
    return subprocess.run([sys.executable, "convert_iiit5k.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("var,field", [("testdata", "GroundTruth"), ("testCharBound", "chars")])
def test_convert_official_layouts(tmp_path, iiit5k_dir, var, field):
    mat = tmp_path / f"{var}.mat"
    savemat(str(mat), {var: official_struct(["test/1_1.png", "test/2_1.png"], ["PARKING", "Gray"], field,
                                            lexicons=field == "GroundTruth")})
    out = tmp_path / "annotation.txt"
    res = run("-m", str(mat), "-o", iiit5k_dir, "-a", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_text().splitlines() == ["test/1_1.png,PARKING", "test/2_1.png,Gray"]


def test_missing_images_are_reported(tmp_path, iiit5k_dir):
    mat = tmp_path / "testdata.mat"
    savemat(str(mat), {"testdata": official_struct(["test/1_1.png", "test/404.png"], ["a", "b"])})
    res = run("-m", str(mat), "-o", iiit5k_dir, "-a", str(tmp_path / "a.txt"))
    assert res.returncode == 1 and "1 of 2 images not found" in res.stderr and "test/404.png" in res.stderr
    assert not (tmp_path / "a.txt").exists()
    assert run("-m", str(mat), "-o", iiit5k_dir, "-a", str(tmp_path / "a.txt"), "--allow_missing").returncode == 0


def test_wrong_struct_is_a_clear_error(tmp_path):
    mat = tmp_path / "other.mat"
    savemat(str(mat), {"something": np.zeros((2, 2))})
    res = run("-m", str(mat), "-o", str(tmp_path))
    assert res.returncode == 1 and "no IIIT5K struct" in res.stderr and "something" in res.stderr
