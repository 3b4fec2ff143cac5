"""The CPU kernel choice: oneDNN must never run a reference convolution on the machine running the tests."""
from src.cpu_env import CAPPED_ISA, choose_isa, isa_summary
from src.kernel_probe import parse_verbose, probe_kernels, reference_kernels

TRACE = """onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_uni_ncsp:conv+ref:any,forward_training,src:f32,,alg,mb2,12.5
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_uni_ncsp:conv+ref:any,backward_data,src:f32,,alg,mb2,7.5
onednn_verbose,v1,primitive,exec,cpu,convolution,x64:gemm:jit,forward_training,src:f32,,alg,mb2,0.5
onednn_verbose,v1,primitive,exec,cpu,rnn,ref,forward_training,src:f32,,alg,mb2,3.0
something else,not a trace line
"""


def test_parse_verbose_counts_calls_and_time_per_implementation():
    table, isa = parse_verbose(TRACE)
    assert isa.startswith("Intel AVX-512")
    assert table[("convolution", "jit_uni_ncsp:conv+ref:any")] == (2, 20.0)
    assert table[("convolution", "x64:gemm:jit")] == (1, 0.5)
    assert reference_kernels(table) == {("convolution", "jit_uni_ncsp:conv+ref:any"): 2}
    assert reference_kernels(table, ("rnn",)) == {("rnn", "ref"): 1}


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
    env = {}
    assert "default" in choose_isa({"avx2", "fma"}, env) and env == {}
    assert isa_summary({"avx2", "avx512f", "sse4_2"}) == "avx512f avx2 sse4_2"


def test_no_reference_convolution_in_a_training_step_or_an_inference_pass():
    """Runs the project's train step and a forward pass under ONEDNN_VERBOSE=1 on this machine."""
    table, isa = probe_kernels()
    convolutions = {k: v for k, v in table.items() if k[0] == "convolution"}
    assert sum(calls for calls, _ in convolutions.values()) >= 14, table   # 7 conv layers, forward + backward
    assert not reference_kernels(table), f"reference convolutions on this CPU (oneDNN isa {isa}): {convolutions}"
