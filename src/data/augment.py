"""Augmentation for real word crops, applied to the network-size BGR image.

Each sample gets a seeded generator (seed, source epoch, index), so a resumed run sees the
same augmented images as an uninterrupted one. Two strengths (``augment_strength``):

* ``mild`` (the default): crops are tight around words already, and a too-strong warp would cut
  characters off — perspective, rotation, colour, blur, inversion, JPEG, all small;
* ``strong``: for runs that pass over the same few thousand real crops many times, where the network
  starts to memorise them — larger warps and rotations, then low resolution, text on an arc and
  colour-channel changes on top (the measured error classes: low-resolution and curved text).

``mild`` draws exactly the random numbers it always drew: a recipe written before ``strong`` existed sees
the same images.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .render import bend_on_arc


@dataclass(frozen=True)
class Strength:
    """Magnitudes of one augmentation strength (probabilities of the extra operations: 0 = never drawn)."""

    corner_jitter: float     # perspective: corners move by up to this share of the size
    max_degrees: float       # rotation
    max_blur: float          # Gaussian blur sigma
    low_resolution: float    # probability of shrinking to 35-80% and back
    arc: float               # probability of bending the text on an arc
    channels: float          # probability of a grey or channel-swapped copy


STRENGTHS = {
    "mild": Strength(corner_jitter=0.06, max_degrees=4, max_blur=1.2, low_resolution=0, arc=0, channels=0),
    "strong": Strength(corner_jitter=0.07, max_degrees=7, max_blur=1.8, low_resolution=0.3, arc=0.15, channels=0.2),
}


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


def _low_resolution(img: np.ndarray, factor: float) -> np.ndarray:
    """Shrink to ``factor`` of the size and back: a crop from far away or a small photo."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _arc(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The text bent on an arc (the renderer's warp, which grows the image), back at the crop's size."""
    h, w = img.shape[:2]
    return cv2.resize(bend_on_arc(img, rng), (w, h), interpolation=cv2.INTER_AREA)


def _channels(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey copy, or the colour channels in another order (text colour is not what a word is)."""
    if rng.random() < 0.5:
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, rng.permutation(3)])


def augment(img: np.ndarray, rng: np.random.Generator, strength: str = "mild") -> np.ndarray:
    """A randomly distorted copy of HxWx3 uint8 ``img`` (same size) at ``strength`` (:data:`STRENGTHS`)."""
    s = STRENGTHS[strength]
    if rng.random() < 0.5:
        img = _perspective(img, rng, s.corner_jitter)
    if rng.random() < 0.3:
        img = _rotate(img, rng.uniform(-s.max_degrees, s.max_degrees))
    if rng.random() < 0.5:
        img = _colour(img, rng)
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, s.max_blur))
    if rng.random() < 0.1:
        img = 255 - img
    if rng.random() < 0.3:
        img = _jpeg(img, int(rng.integers(25, 90)))
    # the operations of the stronger settings come last, so that "mild" keeps its random stream
    if s.low_resolution and rng.random() < s.low_resolution:
        img = _low_resolution(img, rng.uniform(0.35, 0.8))
    if s.arc and rng.random() < s.arc:
        img = _arc(img, rng)
    if s.channels and rng.random() < s.channels:
        img = _channels(img, rng)
    return img
