"""Serving backends: an exported MINDIR / ONNX model, and the faster of MindSpore and ONNX Runtime.

They share the interface of :class:`src.model.backend.Backend` (``images [B, 3, H, W] -> logits [T, B, C]``)
with the MindSpore network itself. Exported models have a fixed batch size; ``run_batched`` pads the last batch.
An exported model carries a ``<model>.json`` written by export.py with its alphabet and
input size, so deployment needs no training config.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional, Tuple

import numpy as np
from mindspore import nn

from ..errors import UsageError
from ..model.backend import Backend, MindSporeBackend, log_softmax, run_batched

__all__ = ["Backend", "MindIRBackend", "MindSporeBackend", "OnnxBackend", "PARITY_TOLERANCE", "fastest_cpu_backend",
           "load_exported", "log_softmax", "model_metadata", "run_batched"]


class MindIRBackend(Backend):
    name = "mindir"

    def __init__(self, path: str, batch_size: int, target: str = "CPU") -> None:
        import mindspore as ms

        device = ms.get_context("device_target")
        if target in ("CPU", "GPU") and device in ("CPU", "GPU") and target != device:
            raise UsageError(f"{path} was exported for {target} (its LSTM weights are packed for {target}'s kernel) "
                             f"and would compute wrong outputs on {device}: export it again with "
                             f"--export_target={device}")
        self.cell = ms.nn.GraphCell(ms.load(path))
        self.batch_size = batch_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        from mindspore import Tensor

        return self.cell(Tensor(images)).asnumpy()


class OnnxBackend(Backend):
    name = "onnxruntime"

    def __init__(self, path: str, threads: int = 0) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.batch_size = inp.shape[0] if isinstance(inp.shape[0], int) else None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: images})[0]


def model_metadata(path: str) -> Dict:
    """The ``<model>.json`` written next to an exported model (empty if absent)."""
    meta_path = os.path.splitext(path)[0] + ".json"
    if not os.path.isfile(meta_path):
        return {}
    with open(meta_path, encoding="utf-8") as f:
        return json.load(f)


def load_exported(path: str) -> Tuple[Backend, Dict]:
    """Backend for a ``.onnx`` or ``.mindir`` file, plus its metadata."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model not found: {path}")
    meta = model_metadata(path)
    if path.lower().endswith(".onnx"):
        return OnnxBackend(path), meta
    if path.lower().endswith(".mindir"):
        if "batch_size" not in meta:
            raise UsageError(f"{path}: missing {os.path.splitext(path)[0]}.json (written by export.py) "
                             "with the exported batch size")
        return MindIRBackend(path, int(meta["batch_size"]), meta.get("target", "CPU")), meta
    raise UsageError(f"unknown model format: {path} (expected .onnx or .mindir)")


#: exported models must reproduce the network's logits to this (max absolute difference)
PARITY_TOLERANCE = 1e-4


def fastest_cpu_backend(net: nn.Cell, batch_size: int, image_size: Tuple[int, int],
                        workdir: str) -> Tuple[Backend, str]:
    """The faster of MindSpore and ONNX Runtime for ``net`` on this CPU, and a one-line reason.

    The network is exported to ONNX in ``workdir`` (fixed ``batch_size``); ONNX Runtime is used only when
    its logits match MindSpore's within :data:`PARITY_TOLERANCE` on a random batch and it runs that
    batch faster (best of two timed runs each, after one warm-up run).
    """
    import time

    import mindspore as ms

    native = MindSporeBackend(net)
    batch = np.random.default_rng(0).uniform(-1, 1, (batch_size, 3, *image_size)).astype(np.float32)
    try:
        base = os.path.join(workdir, "crnn")
        ms.export(net, ms.Tensor(batch), file_name=base, file_format="ONNX")
        onnx = OnnxBackend(f"{base}.onnx")
    except (RuntimeError, ValueError, OSError, ImportError) as err:
        return native, f"mindspore (ONNX export unavailable: {err})"
    want, got = native(batch), onnx(batch)
    diff = float(np.abs(want - got).max())
    if not diff <= PARITY_TOLERANCE:
        return native, f"mindspore (ONNX Runtime's outputs differ by {diff:.1e} > {PARITY_TOLERANCE:.0e})"

    def rate(backend: Backend) -> float:
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            backend(batch)
            seconds.append(time.perf_counter() - start)
        return batch_size / min(seconds)

    native_rate, onnx_rate = rate(native), rate(onnx)
    chosen, other = (onnx, native) if onnx_rate > native_rate else (native, onnx)
    return chosen, (f"{chosen.name} ({max(native_rate, onnx_rate):.0f} img/s vs {other.name} "
                    f"{min(native_rate, onnx_rate):.0f} img/s on a batch of {batch_size}; outputs agree to {diff:.0e})")
