"""int8 ONNX models with ONNX Runtime quantisation (for the fast CPU deployment path)."""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

INT8_MODES = ("static", "dynamic")
#: an int8 model is used only if its per-frame best class agrees with fp32's on this share of frames
MIN_FRAME_AGREEMENT = 0.97


def rendered_calibration(num: int, batch_size: int, image_size: Tuple[int, int] = (32, 100),
                         seed: int = 12345) -> Iterator[np.ndarray]:
    """Batches of rendered words (never benchmark images) for static calibration, at the model's input size."""
    from ..data.render import WordRenderer
    from ..data.transforms import preprocess

    renderer = WordRenderer(seed)
    images = []
    for i in range(num):
        images.append(preprocess(renderer.image(0, i, renderer.text(0, i)), image_size))
        if len(images) == batch_size:
            yield np.stack(images)
            images = []


def quantize_onnx(fp32_path: str, int8_path: str, mode: str = "dynamic", batch_size: int = 64,
                  calibration_images: int = 512, input_name: Optional[str] = None,
                  image_size: Tuple[int, int] = (32, 100)) -> str:
    """Write an int8 copy of ``fp32_path``: ``dynamic`` (weights int8, activations at run time) or
    ``static`` (QDQ with activation ranges calibrated on rendered words)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ONNX Runtime's generic "consider pre-processing" warning on the root logger
    try:
        return _quantize(fp32_path, int8_path, mode, batch_size, calibration_images, input_name, image_size)
    finally:
        root.setLevel(level)


def _quantize(fp32_path: str, int8_path: str, mode: str, batch_size: int, calibration_images: int,
              input_name: Optional[str], image_size: Tuple[int, int]) -> str:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if mode == "dynamic":
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)
        return int8_path
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    import onnxruntime as ort

    name = input_name or ort.InferenceSession(fp32_path, providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = rendered_calibration(calibration_images, batch_size, image_size)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {name: batch}

    quantize_static(fp32_path, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=False,
                    op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                    weight_type=QuantType.QInt8, activation_type=QuantType.QInt8)
    return int8_path


def _session(path: str):
    import onnxruntime as ort

    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def _rate(session, batch: np.ndarray, repeats: int) -> float:
    """Images per second of ``session`` on ``batch`` (best of ``repeats`` runs after one warm-up)."""
    name = session.get_inputs()[0].name
    session.run(None, {name: batch})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {name: batch})
        best = min(best, time.perf_counter() - start)
    return len(batch) / best


def choose_int8(fp32_path: str, int8_path: str, mode: str = "auto", batch_size: int = 64,
                image_size: Tuple[int, int] = (32, 100), repeats: int = 3) -> Tuple[str, str]:
    """Write the int8 model for ``mode`` (``static``, ``dynamic`` or ``auto``) to ``int8_path``.

    ``auto`` writes both, times them and fp32 on the same rendered batch in one run (machines
    differ: integer convolutions and LSTMs are fast on some CPUs and slower than fp32 on others),
    and keeps the faster of those whose per-frame predictions agree with fp32's on at least
    :data:`MIN_FRAME_AGREEMENT` of the frames. Returns (the mode written, a one-line note).
    """
    if mode not in INT8_MODES + ("auto",):
        raise ValueError(f"int8 mode must be static, dynamic or auto, got {mode!r}")
    modes = INT8_MODES if mode == "auto" else (mode,)
    batch = next(rendered_calibration(batch_size, batch_size, image_size, seed=54321))
    fp32 = _session(fp32_path)
    name = fp32.get_inputs()[0].name
    reference = fp32.run(None, {name: batch})[0].argmax(-1)
    rates: Dict[str, float] = {"fp32": _rate(fp32, batch, repeats)}
    agreement: Dict[str, float] = {}
    stem, ext = os.path.splitext(int8_path)
    paths = {m: (int8_path if len(modes) == 1 else f"{stem}.{m}{ext}") for m in modes}
    for m in modes:
        quantize_onnx(fp32_path, paths[m], m, batch_size, image_size=image_size)
        session = _session(paths[m])
        agreement[m] = float((session.run(None, {name: batch})[0].argmax(-1) == reference).mean())
        rates[m] = _rate(session, batch, repeats)
    usable = [m for m in modes if agreement[m] >= MIN_FRAME_AGREEMENT]
    chosen = max(usable or modes, key=lambda m: rates[m])
    if paths[chosen] != int8_path:
        os.replace(paths[chosen], int8_path)
    for m in modes:
        if m != chosen and os.path.exists(paths[m]):
            os.remove(paths[m])
    measured = ", ".join(f"{k} {v:.0f} img/s" for k, v in rates.items())
    agree = ", ".join(f"{k} {v:.1%}" for k, v in agreement.items())
    warning = "" if usable else f"; none reaches {MIN_FRAME_AGREEMENT:.0%}: check its accuracy before using it"
    return chosen, (f"int8 {chosen} ({measured} on a batch of {batch_size}; frames agreeing with fp32: {agree}"
                    f"{warning})")
