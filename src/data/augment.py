"""Augmentation for real word crops, applied to the network-size BGR image.

Each sample gets a seeded generator (seed, source epoch, index), so a resumed run sees the
same augmented images as an uninterrupted one. Every operation is mild: crops are tight
around words already, and a too-strong warp would cut characters off.
"""
from __future__ import annotations

import cv2
import numpy as np


def _perspective(img: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Move each corner by up to ``jitter`` of the size (crop jitter, shear, small rotation in one warp)."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * np.float32([w, h])
    matrix = cv2.getPerspectiveTransform(dst, src)
    return cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32)
    out = (out - out.mean()) * rng.uniform(0.6, 1.3) + out.mean() + rng.uniform(-30, 30)
    if rng.random() < 0.3:  # colour cast
        out *= rng.uniform(0.8, 1.2, 3).astype(np.float32)
    if rng.random() < 0.2:
        out += rng.normal(0, rng.uniform(3, 12), out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else img


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly distorted copy of HxWx3 uint8 ``img`` (same size)."""
    if rng.random() < 0.5:
        img = _perspective(img, rng, 0.06)
    if rng.random() < 0.3:
        img = _rotate(img, rng.uniform(-4, 4))
    if rng.random() < 0.5:
        img = _colour(img, rng)
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 1.2))
    if rng.random() < 0.1:
        img = 255 - img
    if rng.random() < 0.3:
        img = _jpeg(img, int(rng.integers(25, 90)))
    return img
