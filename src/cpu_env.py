"""CPU kernel settings that must be chosen before MindSpore loads oneDNN.

Which oneDNN MindSpore bundles decides what AVX-512 CPUs get:

- oneDNN 2 (``lib/libdnnl.so.2``, MindSpore up to 2.8, what requirements.txt installs): NCHW fp32
  convolutions run JIT GEMM kernels with AVX-512 — nothing to do.
- oneDNN 3 (``lib/libdnnl.so.3``, MindSpore 2.9 and 2.10): they run the reference kernel
  (``jit_uni_ncsp:conv+ref``, 40-100x slower) whenever AVX-512 is enabled; capping oneDNN's
  instruction set at AVX2 gives the JIT GEMM convolutions instead (about 1.6x slower than oneDNN 2
  with AVX-512 on the same CPU).

The choice is made once, when ``src`` is first imported, from the installed package's files
(MindSpore itself is not imported), and is inherited by every process started afterwards.
A value the user set (``ONEDNN_MAX_CPU_ISA`` or ``DNNL_MAX_CPU_ISA``) is never changed.
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Optional, Set

ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")  # oneDNN 3 reads both, oneDNN 2 only the second
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
_LIBDNNL = re.compile(r"libdnnl\.so\.(\d+)$")  # MindSpore's lib/libdnnl.so.<major>


def bundled_onednn_major(package: str = "mindspore") -> Optional[int]:
    """The major version of the oneDNN inside the installed MindSpore (``lib/libdnnl.so.N``), None if not found."""
    try:
        spec = importlib.util.find_spec(package)   # locates the package without running it
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            names = os.listdir(os.path.join(location, "lib"))
        except OSError:
            continue
        majors = [int(m.group(1)) for m in map(_LIBDNNL.match, names) if m]
        if majors:
            return max(majors)
    return None


def choose_isa(flags: Set[str], environ: "os._Environ | dict", onednn_major: Optional[int] = None) -> str:
    """Decide oneDNN's ISA for this CPU and MindSpore's oneDNN; set it in ``environ`` and return a one-line note.

    ``onednn_major`` None (MindSpore not found) is treated like oneDNN 3: capping costs speed, never correctness.
    """
    for name in ISA_VARIABLES:
        if environ.get(name) and environ.get(name) != environ.get(_MARKER):
            ignored = (onednn_major == 2 and name == "ONEDNN_MAX_CPU_ISA"
                       and environ.get("DNNL_MAX_CPU_ISA", "") in ("", environ.get(_MARKER)))
            hint = "; MindSpore's oneDNN 2 ignores it and reads DNNL_MAX_CPU_ISA" if ignored else ""
            return f"oneDNN ISA: {name}={environ[name]} (set by the user, left as is{hint})"
    if "avx512f" not in flags:
        return "oneDNN ISA: default (no AVX-512, JIT kernels available)"
    if onednn_major == 2:
        return "oneDNN ISA: default (AVX-512; MindSpore's oneDNN 2 runs convolutions with JIT kernels)"
    for name in ISA_VARIABLES:
        environ[name] = CAPPED_ISA
    environ[_MARKER] = CAPPED_ISA  # child processes (ranks, tools) see the cap as ours, not the user's
    why = (f"MindSpore bundles oneDNN {onednn_major}, which" if onednn_major else
           "MindSpore's oneDNN version is unknown; oneDNN 3 (MindSpore 2.9+)")
    return (f"oneDNN ISA: capped at {CAPPED_ISA} because this CPU has AVX-512 and {why} runs convolutions with its "
            "reference kernel there (40-100x slower); MindSpore 2.8 (requirements.txt, oneDNN 2) trains ~1.6x "
            "faster on this CPU; set ONEDNN_MAX_CPU_ISA yourself to override")


def configure_cpu() -> str:
    """Apply :func:`choose_isa` to this process (idempotent); warn when MindSpore is already loaded."""
    global CPU_NOTE
    if not CPU_NOTE:
        CPU_NOTE = choose_isa(cpu_flags(), os.environ, bundled_onednn_major())
        if "mindspore" in sys.modules and "capped" in CPU_NOTE:
            CPU_NOTE += " (warning: MindSpore was imported before src; the cap may come too late)"
    return CPU_NOTE
