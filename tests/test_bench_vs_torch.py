"""bench_vs_torch: the interleaving, the rate parsing and the environment each framework gets."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_vs_torch import AVX2_ENV, child_env, interleave, train_rate  # noqa: E402


def _printer(value: str) -> list:
    return [sys.executable, "-c", f"print('warming up'); print('train_img_per_s={value}')"]


@pytest.mark.system
def test_rates_are_read_per_round_in_order(capsys):
    rows = interleave({"mindspore": _printer("30.5"), "pytorch": _printer("61")}, rounds=2, env={})
    assert rows == [{"mindspore": 30.5, "pytorch": 61.0}] * 2
    out = capsys.readouterr().out.splitlines()
    assert out == ["round 1: mindspore 30.5 img/s, pytorch 61.0 img/s", "round 2: mindspore 30.5 img/s, pytorch 61.0 img/s"]


@pytest.mark.system
def test_a_failed_or_silent_benchmark_is_an_error_with_its_last_lines():
    with pytest.raises(RuntimeError, match=r"exit 3.*no torch here"):
        train_rate([sys.executable, "-c", "import sys; print('no torch here', file=sys.stderr); sys.exit(3)"], {})
    with pytest.raises(RuntimeError, match="exit 0"):
        train_rate([sys.executable, "-c", "print('done')"], {})


def test_the_children_get_the_callers_environment_not_the_suites_cap():
    base = {"PATH": "/bin"}
    assert child_env(base, "native") == base
    capped = child_env(base, "avx2")
    assert capped == dict(base, **AVX2_ENV) and set(AVX2_ENV) == {
        "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS"}


@pytest.mark.system
def test_a_missing_twin_is_refused_before_anything_runs(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_vs_torch.py"), "--torch_python",
                          sys.executable, "--torch_script", str(tmp_path / "nope.py")], capture_output=True, text=True)
    assert res.returncode == 2 and "does not exist" in res.stderr
