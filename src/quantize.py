"""int8 ONNX models with ONNX Runtime quantisation (for the fast CPU deployment path)."""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np


def rendered_calibration(num: int, batch_size: int, image_size: Tuple[int, int] = (32, 100),
                         seed: int = 12345) -> Iterator[np.ndarray]:
    """Batches of rendered words (never benchmark images) for static calibration, at the model's input size."""
    from .data.render import WordRenderer
    from .data.transforms import preprocess

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
