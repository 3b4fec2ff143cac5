"""Image decoding and preprocessing shared by training, evaluation and inference.

Images are decoded to 3-channel BGR uint8 whatever they were on disk (grayscale,
RGBA, 16-bit, palette), resized to the network size without keeping the aspect
ratio, bilinearly (as the reference does; ``area`` is an option), then normalised to
(x - 127.5) / 127.5 in CHW.
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import cv2
import numpy as np

cv2.setNumThreads(1)  # the data pipeline parallelises over workers, not inside one resize

MEAN = 127.5
STD = 127.5
#: ``bilinear``: always (the reference); ``area``: area averaging when shrinking more than 2x, else bilinear
INTERPOLATIONS = ("bilinear", "area")


def model_interpolation(explicit: Optional[str] = None, meta: Optional[Mapping] = None) -> str:
    """The resizing to use: ``explicit`` if given, else the one a model's metadata records
    (``resize_interpolation``, written by training and export.py), else bilinear (the reference's)."""
    return explicit or (meta or {}).get("resize_interpolation") or "bilinear"


class ImageError(ValueError):
    """The bytes are not a decodable image."""


def decode_bgr(data: bytes) -> np.ndarray:
    """Decode encoded image bytes to HxWx3 BGR uint8; raise ImageError when impossible."""
    if not data:
        raise ImageError("zero-byte file")
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageError("not a decodable image")
    return to_bgr(img)


def to_bgr(img: np.ndarray) -> np.ndarray:
    """A decoded image (gray, BGR, BGRA; uint8, 16-bit or float) -> HxWx3 BGR uint8."""
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)) or img.size == 0:
        raise ImageError(f"expected HxW, HxWx1, HxWx3 or HxWx4 pixels, got shape {img.shape}")
    if img.dtype != np.uint8:  # 16-bit or float images: scale to 8 bits
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.shape[2] == 1:
        img = cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    return img


def resize(img: np.ndarray, size: Tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize BGR uint8 to (height, width); ``interpolation`` is one of :data:`INTERPOLATIONS`."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    height, width = size
    h, w = img.shape[:2]
    shrink_a_lot = h > 2 * height or w > 2 * width
    interp = cv2.INTER_AREA if interpolation == "area" and shrink_a_lot else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def normalize(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 in [-1, 1]."""
    return ((img.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)


def preprocess(img: np.ndarray, size: Tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """The network input of one BGR image: resize to ``size`` (height, width), then :func:`normalize`.
    The Recognizer calls this; the data pipeline runs the same two functions (the sources resize, so
    augmentation sees uint8 pixels, and the pipeline maps :func:`normalize` over the batches)."""
    return normalize(resize(img, size, interpolation))
