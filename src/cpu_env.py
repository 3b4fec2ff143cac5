"""CPU kernel settings that must be chosen before MindSpore loads oneDNN.

MindSpore 2.10's bundled oneDNN runs NCHW fp32 convolutions with its reference kernel
(``jit_uni_ncsp:conv+ref``, 40-100x slower) whenever AVX-512 is enabled. Capping
oneDNN's instruction set at AVX2 on such CPUs gives the JIT GEMM convolutions instead.
The choice is made once, when ``src`` is first imported, and is inherited by every
process started afterwards (data workers, mpirun/msrun ranks started from a shell that
imported nothing keep working because each rank imports ``src`` itself).
A value the user set (``ONEDNN_MAX_CPU_ISA`` or the older ``DNNL_MAX_CPU_ISA``) is never changed.
"""
from __future__ import annotations

import os
import sys
from typing import Set

ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
CAPPED_ISA = "AVX2"

#: What :func:`configure_cpu` chose and why (logged by the entry points).
CPU_NOTE = ""


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> Set[str]:
    """The instruction-set flags of the first CPU (empty when unknown, e.g. not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def isa_summary(flags: Set[str]) -> str:
    """The vector extensions that matter for oneDNN, best first, e.g. ``avx512f avx512_bf16 amx_tile avx2``."""
    wanted = ("amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx2", "fma", "sse4_2")
    present = [f for f in wanted if f in flags]
    return " ".join(present) or "no AVX"


_MARKER = "CRNN_CAPPED_ISA"


def choose_isa(flags: Set[str], environ: "os._Environ | dict") -> str:
    """Decide ``ONEDNN_MAX_CPU_ISA`` for this CPU; set it in ``environ`` and return a one-line note."""
    inherited = environ.get(_MARKER) == environ.get("ONEDNN_MAX_CPU_ISA", "")
    for name in ISA_VARIABLES:
        if environ.get(name) and not inherited:
            return f"oneDNN ISA: {name}={environ[name]} (set by the user, left as is)"
    if "avx512f" in flags:
        environ["ONEDNN_MAX_CPU_ISA"] = CAPPED_ISA
        environ[_MARKER] = CAPPED_ISA  # child processes (ranks, tools) see the cap as ours, not the user's
        return (f"oneDNN ISA: capped at {CAPPED_ISA} (ONEDNN_MAX_CPU_ISA) because this CPU has AVX-512, where "
                "MindSpore's oneDNN runs convolutions with its reference kernel (40-100x slower); "
                "set ONEDNN_MAX_CPU_ISA yourself to override")
    return "oneDNN ISA: default (no AVX-512, JIT kernels available)"


def configure_cpu() -> str:
    """Apply :func:`choose_isa` to this process (idempotent); warn when MindSpore is already loaded."""
    global CPU_NOTE
    if not CPU_NOTE:
        CPU_NOTE = choose_isa(cpu_flags(), os.environ)
        if "mindspore" in sys.modules and "capped" in CPU_NOTE:
            CPU_NOTE += " (warning: MindSpore was imported before src; the cap may come too late)"
    return CPU_NOTE
