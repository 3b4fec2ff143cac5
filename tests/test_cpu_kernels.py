"""The CPU kernel choice: oneDNN must never run a reference convolution on the machine running the tests."""
import pytest

from src.cpu_env import CAPPED_ISA, bundled_onednn_major, choose_isa, isa_summary
from bench.kernel_probe import parse_verbose, probe_kernels, reference_kernels

TRACE = """onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_uni_ncsp:conv+ref:any,forward_training,src:f32,,alg,mb2,12.5
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_uni_ncsp:conv+ref:any,backward_data,src:f32,,alg,mb2,7.5
onednn_verbose,v1,primitive,exec,cpu,convolution,x64:gemm:jit,forward_training,src:f32,,alg,mb2,0.5
onednn_verbose,v1,primitive,exec,cpu,rnn,ref,forward_training,src:f32,,alg,mb2,3.0
something else,not a trace line
"""
TRACE_V2 = """dnnl_verbose,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support
dnnl_verbose,exec,cpu,convolution,gemm:jit,forward_training,src_f32::blocked:abcd:f0,,alg,mb2,1.5
dnnl_verbose,exec,cpu,convolution,gemm:jit,backward_data,src_f32::blocked:abcd:f0,,alg,mb2,2.5
dnnl_verbose,exec,cpu,rnn,ref:any,forward_training,src_f32,,alg,mb2,3.0
dnnl_verbose,create:cache_miss,cpu,convolution,gemm:jit,forward_training,src_f32,,alg,mb2,9.0
"""


def test_parse_verbose_counts_calls_and_time_per_implementation():
    table, isa = parse_verbose(TRACE)
    assert isa.startswith("Intel AVX-512")
    assert table[("convolution", "jit_uni_ncsp:conv+ref:any")] == (2, 20.0)
    assert table[("convolution", "x64:gemm:jit")] == (1, 0.5)
    assert reference_kernels(table) == {("convolution", "jit_uni_ncsp:conv+ref:any"): 2}
    assert reference_kernels(table, ("rnn",)) == {("rnn", "ref"): 1}
    table, isa = parse_verbose(TRACE_V2)                 # oneDNN 2 (MindSpore <= 2.8): no "v1,primitive"
    assert isa.startswith("Intel AVX-512 with Intel DL Boost")
    assert table == {("convolution", "gemm:jit"): (2, 4.0), ("rnn", "ref:any"): (1, 3.0)}
    assert reference_kernels(table) == {} and reference_kernels(table, ("rnn",)) == {("rnn", "ref:any"): 1}


def test_avx512_is_capped_and_a_users_choice_wins():
    env = {}
    assert "capped" in choose_isa({"avx512f", "avx2"}, env) and env["ONEDNN_MAX_CPU_ISA"] == CAPPED_ISA
    child = dict(env)                                    # a rank or tool started by a capped process
    assert "capped" in choose_isa({"avx512f"}, child) and child == env
    child["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"          # the user changed it for that child
    assert "set by the user" in choose_isa({"avx512f"}, child) and child["ONEDNN_MAX_CPU_ISA"] == "AVX512_CORE"
    env = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
    assert "set by the user" in choose_isa({"avx512f"}, env) and env["ONEDNN_MAX_CPU_ISA"] == "AVX512_CORE"
    env = {"DNNL_MAX_CPU_ISA": "SSE41"}
    assert "set by the user" in choose_isa({"avx512f"}, env) and "ONEDNN_MAX_CPU_ISA" not in env
    child = {"ONEDNN_MAX_CPU_ISA": CAPPED_ISA, "DNNL_MAX_CPU_ISA": "AVX512_CORE", "CRNN_CAPPED_ISA": CAPPED_ISA}
    assert "DNNL_MAX_CPU_ISA=AVX512_CORE (set by the user" in choose_isa({"avx512f"}, child, onednn_major=2)
    note = choose_isa({"avx512f"}, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, onednn_major=2)   # a oneDNN 3 variable on oneDNN 2
    assert "set by the user" in note and "reads DNNL_MAX_CPU_ISA" in note
    assert "reads DNNL" not in choose_isa({"avx512f"}, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, onednn_major=3)
    env = {}
    assert "default" in choose_isa({"avx2", "fma"}, env) and env == {}
    assert "default" in choose_isa({"avx512f"}, env, onednn_major=2) and env == {}   # MindSpore <= 2.8
    note = choose_isa({"avx512f"}, env, onednn_major=3)                              # MindSpore 2.9, 2.10
    assert "oneDNN 3" in note and env["ONEDNN_MAX_CPU_ISA"] == env["DNNL_MAX_CPU_ISA"] == CAPPED_ISA
    assert isa_summary({"avx2", "avx512f", "sse4_2"}) == "avx512f avx2 sse4_2"


def test_the_bundled_onednn_is_read_from_the_package_files(tmp_path, monkeypatch):
    lib = tmp_path / "fake_mindspore" / "lib"
    lib.mkdir(parents=True)
    (lib.parent / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert bundled_onednn_major("fake_mindspore") is None
    for name in ("libdnnl.so.2", "libdnnl.so.2.7", "libdnnl.so"):
        (lib / name).write_bytes(b"")
    assert bundled_onednn_major("fake_mindspore") == 2
    assert bundled_onednn_major("no_such_package_here") is None


@pytest.mark.system
def test_no_reference_convolution_in_a_training_step_or_an_inference_pass():
    """Runs the project's train step and a forward pass under ONEDNN_VERBOSE=1 on this machine."""
    table, isa = probe_kernels()
    convolutions = {k: v for k, v in table.items() if k[0] == "convolution"}
    assert sum(calls for calls, _ in convolutions.values()) >= 14, table   # 7 conv layers, forward + backward
    assert not reference_kernels(table), f"reference convolutions on this CPU (oneDNN isa {isa}): {convolutions}"
