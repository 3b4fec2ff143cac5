"""Image decoding and preprocessing shared by training, evaluation and inference.

Images are decoded to 3-channel BGR uint8 whatever they were on disk (grayscale,
RGBA, 16-bit, palette), resized to the network size — stretched (the reference) or,
with ``keep_aspect_ratio``, scaled to the height and padded on the right —, bilinearly
(as the reference does; ``area`` is an option), then normalised to (x - 127.5) / 127.5 in CHW.
"""
from __future__ import annotations

from typing import Mapping, Optional, Tuple

import cv2
import numpy as np

cv2.setNumThreads(1)  # the data pipeline parallelises over workers, not inside one resize
cv2.setLogLevel(2)    # errors only: a corrupt file is reported once, as a counted skip, not by libpng's warnings

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


class ImageTooLarge(ImageError):
    """The header says the image has more pixels than allowed; ``size`` is its (width, height)."""

    def __init__(self, message: str, size: Tuple[int, int]) -> None:
        super().__init__(message)
        self.size = size


#: images with more pixels than this are refused from their header, before decoding (``max_image_pixels``;
#: a 109 KB PNG of 30000x30000 pixels would otherwise take 2.7 GB to decode)
MAX_PIXELS = 25_000_000


def set_pixel_limit(max_pixels: int) -> None:
    """Set :data:`MAX_PIXELS` for this process (and the dataset worker processes it forks)."""
    global MAX_PIXELS
    MAX_PIXELS = int(max_pixels)


def image_size_from_header(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) read from the image header without decoding the pixels; None when PIL cannot
    parse the header (the decoder then decides); (huge, huge) for a header PIL calls a decompression bomb."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                return img.size
    except Image.DecompressionBombError:
        return 1 << 20, 1 << 20
    except Exception:  # noqa: BLE001 (any unparsable header: cv2 gets the final word)
        return None


def decode_bgr(data: bytes, max_pixels: Optional[int] = None) -> np.ndarray:
    """Decode encoded image bytes to HxWx3 BGR uint8; raise ImageError when impossible or when the header
    says the image has more than ``max_pixels`` (default :data:`MAX_PIXELS`) pixels."""
    if not data:
        raise ImageError("zero-byte file")
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    size = image_size_from_header(data)
    if size is not None and size[0] * size[1] > limit:
        raise ImageTooLarge(f"{size[0]}x{size[1]} pixels, above the limit of {limit:,} (max_image_pixels)", size)
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


#: the grey that pads an aspect-preserving resize on the right: 128 normalises to ~0, the network's mean input
PAD_VALUE = 128


def resize(img: np.ndarray, size: Tuple[int, int], interpolation: str = "bilinear",
           keep_aspect_ratio: bool = False) -> np.ndarray:
    """Resize BGR uint8 to (height, width); ``interpolation`` is one of :data:`INTERPOLATIONS`.

    ``keep_aspect_ratio``: scale to the height keeping the ratio, up to the width (wider images are
    squeezed to it), and fill the rest on the right with :data:`PAD_VALUE` grey.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    height, width = size
    h, w = img.shape[:2]
    target_w = min(width, max(1, round(w * height / h))) if keep_aspect_ratio else width
    shrink_a_lot = h > 2 * height or w > 2 * target_w
    interp = cv2.INTER_AREA if interpolation == "area" and shrink_a_lot else cv2.INTER_LINEAR
    out = cv2.resize(img, (target_w, height), interpolation=interp)
    if target_w < width:
        out = cv2.copyMakeBorder(out, 0, 0, 0, width - target_w, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return out


def normalize(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 in [-1, 1]."""
    return ((img.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)


def preprocess(img: np.ndarray, size: Tuple[int, int], interpolation: str = "bilinear",
               keep_aspect_ratio: bool = False) -> np.ndarray:
    """The network input of one BGR image: resize to ``size`` (height, width), then :func:`normalize`.
    The Recognizer calls this; the data pipeline runs the same two functions (the sources resize, so
    augmentation sees uint8 pixels, and the pipeline maps :func:`normalize` over the batches)."""
    return normalize(resize(img, size, interpolation, keep_aspect_ratio))
