"""Rendered words: an MJSynth-style synthetic word generator.

Each image follows the MJSynth recipe: a font, size and case, foreground/background
colours (solid, gradient, textured, or a patch of a photograph the text is blended into),
glyph styles (filled, bordered, outline-only, dot-matrix), optional shadow, cut-off glyphs
of neighbouring words at the crop edges, uneven illumination, rotation and perspective,
blur, noise, low resolution and JPEG compression, tight or loose crop.

Two uses:

* on the fly (``--train_dataset=rendered`` with no path): :class:`RenderedSource`;
* to disk in the MJSynth layout, readable by ``--train_dataset=synth``::

      python -m src.data.render --output ./rendered --num 20000
"""
from __future__ import annotations

import argparse
import glob
import logging
import os
import random
import re
import sys
import time
from functools import lru_cache
from typing import Any, Callable, Iterator, List, Optional, Sequence, Set, Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..charset import ctc_min_frames
from ..config import add_bool_flag
from ..errors import UsageError
from .source import ListSource

log = logging.getLogger(__name__)

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))
BACKGROUND_DIRS = ("/usr/share/backgrounds",)  # Debian: mate-backgrounds, gnome-backgrounds (photos, textures)
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
_FONT_EXTS = (".ttf", ".otf", ".TTF", ".OTF")
WORD_LISTS = ("/usr/share/dict/words", "/usr/share/dict/american-english")
SHORT_WORD = 5   # rendered_short_words draws from words this long or shorter (60% of IC15's training words)
_SKIP_FONT = re.compile(r"Math|Symbol|Nushu|Emoji|Braille|Mono-?Symbol|Ornament|Dingbat|D050000L", re.I)
_WORD_RE = re.compile(r"^[A-Za-z0-9]+$")
_FALLBACK_WORDS = ("the of and to in is you that it he was for on are as with his they at be this have from or one "
                   "had by word but not what all were we when your can said there use each which she do how their "
                   "if will up other about out many then them these so some her would make like him into time has "
                   "look two more write go see number no way could people my than first water been call who oil "
                   "its now find long down day did get come made may part street hotel coffee open sale exit").split()


# ---------------------------------------------------------------------------- fonts and words
def _has_latin(font: ImageFont.FreeTypeFont) -> bool:
    """True when the font draws real glyphs for Latin letters and digits (not the missing-glyph box)."""
    missing = np.asarray(font.getmask("\uffff")).tobytes()
    return all(np.asarray(font.getmask(c)).tobytes() != missing for c in "aZ5g")


def _require(path: str, what: str, hint: str = "") -> None:
    """A path the user named must exist: a one-line error instead of a silently smaller set."""
    if not os.path.exists(path):
        raise UsageError(f"{what}: no such file or folder {path}" + (f" ({hint})" if hint else ""))


def _files_under(spec: str, defaults: Sequence[str], keep: Callable[[str], bool], what: str,
                 hint: str = "") -> List[str]:
    """Sorted files named in ``spec`` (comma-separated files/folders, each of which must exist) or under the
    ``defaults`` folders that exist; folders are searched recursively for the names ``keep`` accepts."""
    roots = [p for p in spec.split(",") if p] if spec else [d for d in defaults if os.path.isdir(d)]
    files: List[str] = []
    for root in roots:
        if os.path.isfile(root):
            files.append(root)
        else:
            _require(root, what, hint)
            files.extend(p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True) if keep(p))
    return sorted(set(files))


@lru_cache(maxsize=None)
def find_fonts(spec: str = "") -> Tuple[str, ...]:
    """Font files from ``spec`` (comma-separated files/folders) or the system font folders, Latin-capable only.
    A file or folder named in ``spec`` that does not exist is an error (a recipe's font set must not shrink
    silently on a machine without one of its packages)."""
    files = _files_under(spec, FONT_DIRS, lambda p: p.endswith(_FONT_EXTS), "fonts",
                         "scripts/setup.sh installs the font packages the recipes use")
    good, seen = [], set()
    for path in files:
        name = os.path.basename(path)
        if _SKIP_FONT.search(name) or name in seen:  # one copy of a font installed by two packages
            continue
        seen.add(name)
        try:
            if _has_latin(ImageFont.truetype(path, 24)):
                good.append(path)
        except OSError:
            continue
    return tuple(good)


@lru_cache(maxsize=None)
def find_backgrounds(spec: str = "") -> Tuple[str, ...]:
    """Photo/texture files from ``spec`` (comma-separated files/folders), the system wallpaper folders when
    empty, none for ``"none"``. Never point this at a test set: its crops would leak into training."""
    if spec == "none":
        return ()
    return tuple(_files_under(spec, BACKGROUND_DIRS, lambda p: p.lower().endswith(_IMAGE_EXTS), "background images"))


@lru_cache(maxsize=256)
def _photo(path: str) -> Optional[np.ndarray]:
    """A background photo as BGR uint8, at most 512 px on its short side (decoded once per process:
    about 1.4 MB each, 65 MB for the 46 Debian wallpapers)."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (im.width // 2, im.height // 2))  # JPEG: decode at a reduced scale
            rgb = im.convert("RGB")
    except (OSError, ValueError) as e:
        log.warning("background image %s unreadable (%s): skipped", path, e)
        return None
    scale = 512 / min(rgb.size)
    if scale < 1:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.BILINEAR)
    if min(rgb.size) < 16:
        return None
    return np.asarray(rgb, np.uint8)[:, :, ::-1].copy()


@lru_cache(maxsize=None)
def load_words(path: str = "") -> Tuple[str, ...]:
    """Alphanumeric words from ``path`` or the system dictionary (built-in list as a last resort)."""
    if path:
        _require(path, "word list")
    candidates = [path] if path else [p for p in WORD_LISTS if os.path.isfile(p)]
    for p in candidates:
        with open(p, encoding="utf-8", errors="ignore") as f:
            words = tuple(sorted({w.strip() for w in f if _WORD_RE.match(w.strip())}))
        if words:
            return words
    if path:
        raise UsageError(f"word list: no usable words (letters and digits only, one per line) in {path}")
    return tuple(_FALLBACK_WORDS)


@lru_cache(maxsize=4096)
def _font(path: str, size: int):
    if not path:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


# ---------------------------------------------------------------------------- text sampling
def short_words(words: Sequence[str]) -> Tuple[str, ...]:
    """The words of at most :data:`SHORT_WORD` characters."""
    return tuple(w for w in words if len(w) <= SHORT_WORD)


def sample_text(rng: random.Random, words: Sequence[str], max_length: int = 23, num_frames: int = 24,
                short: Sequence[str] = (), short_share: float = 0.0) -> str:
    """A dictionary word in a random case (mostly), or digits / random strings, at most ``max_length`` long.

    Random strings mix letters and digits only half of the time: mixed strings taught the model
    to read a round letter as a digit (``o`` -> ``0`` was the most common error on IIIT5K).
    ``short_share`` of the dictionary draws come from ``short`` (:func:`short_words`): a dictionary is long
    where scene text is short. At 0 the stream of draws is the same as without it.
    """
    r = rng.random()
    if r < 0.8:
        word = rng.choice(short if short and short_share > 0 and rng.random() < short_share else words)
        c = rng.random()
        if c < 0.45:  # real scene words are mostly capitals
            word = word.upper()
        elif c < 0.7:
            word = word.lower()
        elif c < 0.9:
            word = word[:1].upper() + word[1:].lower()
    elif r < 0.9:
        word = str(rng.randint(0, 10 ** rng.randint(1, 8)))
    else:
        alphabet = "abcdefghijklmnopqrstuvwxyz" + ("0123456789" if rng.random() < 0.5 else "")
        if rng.random() < 0.5:
            alphabet = alphabet.upper()[:26] + alphabet[26:]
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 10)))
    word = word[:max_length]
    while ctc_min_frames(word) > num_frames:  # keep the label alignable (the charset's rule)
        word = word[:-1]
    return word


def sample_line(rng: random.Random, words: Sequence[str], max_length: int = 23, num_frames: int = 24,
                line_words: int = 1, min_length: int = 0, short: Sequence[str] = (), short_share: float = 0.0) -> str:
    """A text line: 1 to ``line_words`` draws of :func:`sample_text` joined by spaces (more while shorter than
    ``min_length``), cut at a word boundary to ``max_length`` and to what ``num_frames`` CTC frames can hold."""
    if line_words <= 1 and min_length <= 0:
        return sample_text(rng, words, max_length, num_frames, short, short_share)
    wanted = rng.randint(1, max(1, line_words))
    parts: List[str] = []
    while len(parts) < wanted or len(" ".join(parts)) < min_length:
        parts.append(sample_text(rng, words, max_length, num_frames, short, short_share))
        if len(" ".join(parts)) >= max_length:
            break
    while len(parts) > 1 and (len(" ".join(parts)) > max_length or ctc_min_frames(" ".join(parts)) > num_frames):
        parts.pop()
    line = " ".join(parts)[:max_length]
    while ctc_min_frames(line) > num_frames:
        line = line[:-1]
    return line


# ---------------------------------------------------------------------------- rendering
def _colour_pair(rng: random.Random) -> Tuple[np.ndarray, np.ndarray]:
    """Background and text colours with enough luminance contrast to be legible.

    A third of the time a sign/print palette: black or white text on a light, dark or plain
    sign colour, which is what most real scene words look like.
    """
    if rng.random() < 0.35:
        light = rng.random() < 0.55
        base = rng.uniform(200, 255) if light else rng.uniform(0, 60)
        bg = np.clip(np.full(3, base) + [rng.gauss(0, 15) for _ in range(3)], 0, 255).astype(np.float32)
        fg = np.full(3, rng.uniform(0, 50) if light else rng.uniform(205, 255), np.float32)
        return (bg, fg) if rng.random() < 0.85 else (fg, bg)
    while True:
        bg = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
        fg = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
        if rng.random() < 0.4:  # often near-grey, as much real signage and print
            g = rng.randint(0, 255)
            bg = np.clip(bg * 0.2 + g * 0.8, 0, 255)
        if abs(_lum(bg) - _lum(fg)) > 50:
            return bg, fg


def _lum(c: np.ndarray) -> float:
    return float(0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2])  # BGR


def _photo_patch(rng: random.Random, h: int, w: int, photos: Sequence[str]) -> Optional[np.ndarray]:
    """A random window of a random photo resized to ``h`` x ``w`` (from 4x zoomed in to 1.5x out), or None."""
    photo = _photo(rng.choice(photos))
    if photo is None:
        return None
    ph, pw = photo.shape[:2]
    zoom = rng.uniform(0.25, 1.5)  # window height in units of the crop height, up to the photo's size
    wh = int(min(ph, max(8, h * zoom)))
    ww = int(min(pw, max(8, wh * w / h)))
    y, x = rng.randint(0, ph - wh), rng.randint(0, pw - ww)
    patch = cv2.resize(photo[y:y + wh, x:x + ww], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if rng.random() < 0.3:  # out of focus behind the text
        patch = cv2.GaussianBlur(patch, (0, 0), rng.uniform(1, 3))
    return patch


def _text_colour_for(patch: np.ndarray, fg: np.ndarray, rng: random.Random) -> np.ndarray:
    """``fg`` if it stands out from the patch's mean luminance, else a dark or light colour that does."""
    mean = patch.reshape(-1, 3).mean(axis=0)
    if abs(_lum(fg) - _lum(mean)) > 70:
        return fg
    level = rng.uniform(0, 50) if _lum(mean) > 128 else rng.uniform(205, 255)
    return np.clip(np.full(3, level) + [rng.gauss(0, 20) for _ in range(3)], 0, 255).astype(np.float32)


def _background(rng: random.Random, h: int, w: int, colour: np.ndarray) -> np.ndarray:
    kind = rng.random()
    img = np.empty((h, w, 3), np.float32)
    img[:] = colour
    if kind < 0.3:  # gradient
        other = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
        t = t[None, :, None] if t.shape[0] == w else t[:, None, None]
        img = img * (1 - 0.4 * t) + other * 0.4 * t
    elif kind < 0.6:  # texture: blurred noise at a random scale
        scale = rng.choice((2, 4, 8))
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(10, 40),
                                                                   (max(1, h // scale), max(1, w // scale), 1))
        img += cv2.resize(noise.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)[:, :, None]
    elif kind < 0.7:  # stripes / lines as on signs and paper
        for _ in range(rng.randint(1, 4)):
            y = rng.randint(0, h - 1)
            c = tuple(float(rng.randint(0, 255)) for _ in range(3))
            cv2.line(img, (0, y), (w - 1, y + rng.randint(-3, 3)), c, rng.randint(1, 2))
    return img


_PUNCTUATION = ".,:;!?'-"


def _text_mask(size: Tuple[int, int], origin: Tuple[float, float], text: str, font, tracking: float,
               stroke: int = 0) -> np.ndarray:
    """Alpha mask in [0, 1] of ``text`` drawn at ``origin`` with ``tracking`` extra pixels between letters."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    if tracking <= 0:
        draw.text(origin, text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    else:
        x, y = origin
        for ch in text:
            draw.text((x, y), ch, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
            x += font.getlength(ch) + tracking
    return np.asarray(mask, np.float32)[:, :, None] / 255.0


def _dot_matrix(alpha: np.ndarray, rng: random.Random, text_height: int) -> np.ndarray:
    """The glyph mask redrawn as round dots on a square grid, as LED and dot-matrix displays show text."""
    h, w = alpha.shape[:2]
    pitch = max(3, int(text_height / rng.uniform(6, 10)))
    cells = cv2.resize(alpha[:, :, 0], (max(1, w // pitch), max(1, h // pitch)), interpolation=cv2.INTER_AREA)
    on = (cells > 0.35).astype(np.float32)
    grid = cv2.resize(on, (on.shape[1] * pitch, on.shape[0] * pitch), interpolation=cv2.INTER_NEAREST)
    yy, xx = np.mgrid[0:pitch, 0:pitch].astype(np.float32) - (pitch - 1) / 2
    dot = (np.hypot(yy, xx) <= pitch * rng.uniform(0.3, 0.48)).astype(np.float32)
    dots = grid * np.tile(dot, on.shape)
    out = np.zeros((h, w), np.float32)
    out[:dots.shape[0], :dots.shape[1]] = dots
    return out[:, :, None]


def render_word(text: str, rng: random.Random, fonts: Sequence[str], photos: Sequence[str] = ()) -> np.ndarray:
    """Render ``text`` to a BGR uint8 image of height ~32-64 and variable width.

    Occasionally a punctuation mark is drawn next to the word (as "snip." or "'s" in real
    crops); it is not part of the label, which is ``text``. With ``photos`` (image files),
    a third of the words are blended into a window of a photograph, as MJSynth does.
    """
    font_path = rng.choice(fonts) if fonts else ""
    size = rng.randint(26, 48)
    font = _font(font_path, size)
    shown = text
    if rng.random() < 0.05:
        mark = rng.choice(_PUNCTUATION)
        shown = shown + mark if rng.random() < 0.7 else mark + shown
    tracking = size * rng.uniform(0.1, 0.8) if len(shown) > 1 and rng.random() < 0.12 else 0.0
    left, top, right, bottom = font.getbbox(shown)
    tw, th = max(1, right - left + int(tracking * (len(shown) - 1))), max(1, bottom - top)
    stroke = rng.choice((0, 0, 0, 0, 1, 2))
    pad_x = int(rng.uniform(0.02, 0.25) * th) + stroke + 2
    pad_y = int(rng.uniform(0.05, 0.4) * th) + stroke + 2
    w, h = tw + 2 * pad_x, th + 2 * pad_y
    origin = (pad_x - left, pad_y - top)
    alpha = _text_mask((w, h), origin, shown, font, tracking, stroke)
    if rng.random() < 0.04:
        alpha = _dot_matrix(alpha, rng, th)
        stroke = 0
    bg_colour, fg_colour = _colour_pair(rng)
    patch = _photo_patch(rng, h, w, photos) if photos and rng.random() < 0.35 else None
    if patch is not None:
        img = patch
        fg_colour = _text_colour_for(patch, fg_colour, rng)
        alpha = alpha * rng.uniform(0.75, 1.0)  # blended, not pasted
    else:
        img = _background(rng, h, w, bg_colour)
    if rng.random() < 0.15:  # drop shadow
        dx, dy = rng.randint(-3, 3), rng.randint(1, 3)
        shadow = np.roll(np.roll(alpha, dy, axis=0), dx, axis=1)
        img = img * (1 - 0.6 * shadow)
    if stroke >= 2 and rng.random() < 0.3:  # outline-only glyphs: the background shows through them
        inner_alpha = _text_mask((w, h), origin, shown, font, tracking)
        ring = np.clip(alpha - inner_alpha, 0, 1)
        img = img * (1 - ring) + fg_colour * ring
    elif stroke and rng.random() < 0.6:  # border in another colour around the glyphs
        inner_alpha = _text_mask((w, h), origin, shown, font, tracking)
        border = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
        img = img * (1 - alpha) + border * alpha
        img = img * (1 - inner_alpha) + fg_colour * inner_alpha
    else:
        img = img * (1 - alpha) + fg_colour * alpha
    if rng.random() < 0.2:
        img = _edge_distractor(img, rng, font, fg_colour, pad_x)
    if rng.random() < 0.3:
        img = _shading(img, rng)
    if rng.random() < 0.08:
        img = bend_on_arc(img, rng)
    img = _geometric(img, rng)
    img = _degrade(img, rng)
    return img


def bend_on_arc(img: np.ndarray, rng: Union[random.Random, np.random.Generator]) -> np.ndarray:
    """Text on an arc (as on round signs and logos): each column shifts vertically along a parabola.

    The image grows by the arc's height so that no glyph is cut.
    """
    h, w = img.shape[:2]
    sag = rng.uniform(0.15, 0.45) * h * (1 if rng.random() < 0.5 else -1)
    grow = int(abs(sag)) + 1
    canvas = cv2.copyMakeBorder(img, grow, grow, 0, 0, cv2.BORDER_REPLICATE)
    xs = np.arange(w, dtype=np.float32)
    shift = sag * ((2 * xs / max(1, w - 1) - 1) ** 2 - 0.5)
    map_x = np.tile(xs, (h + 2 * grow, 1))
    map_y = np.arange(h + 2 * grow, dtype=np.float32)[:, None] + shift[None, :]
    return cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _edge_distractor(img: np.ndarray, rng: random.Random, font, colour: np.ndarray, pad_x: int) -> np.ndarray:
    """A glyph of a neighbouring word cut by the crop at the left or right edge, as in real word crops.

    At most a third of it shows, and never closer to the word than half the padding.
    """
    h, w = img.shape[:2]
    glyph = rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    left, top, right, bottom = font.getbbox(glyph)
    gw = max(1, right - left)
    visible = min(int(gw * rng.uniform(0.1, 0.35)), max(0, pad_x // 2))
    if visible < 1:
        return img
    x = -(gw - visible) - left if rng.random() < 0.5 else w - visible - left
    alpha = _text_mask((w, h), (x, (h - (bottom - top)) // 2 - top), glyph, font, 0)
    return img * (1 - alpha) + colour * alpha


def _shading(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Uneven illumination: a smooth multiplicative ramp over text and background alike."""
    h, w = img.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xs / w - 0.5) * np.cos(angle) + (ys / h - 0.5) * np.sin(angle)
    gain = 1.0 + rng.uniform(0.2, 0.7) * ramp
    return img * gain[:, :, None]


def _geometric(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Small rotation, shear and perspective, filling the border by replication."""
    h, w = img.shape[:2]
    if rng.random() < 0.3:
        return img
    jitter = rng.uniform(0.0, 0.12) * h
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32([[rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter)] for _ in range(4)])
    angle = np.deg2rad(rng.gauss(0, 2.5))
    c, s = np.cos(angle), np.sin(angle)
    centre = np.float32([w / 2, h / 2])
    dst = (dst - centre) @ np.float32([[c, -s], [s, c]]).T + centre
    shear = rng.gauss(0, 0.1)
    dst[:, 0] += shear * (dst[:, 1] - h / 2)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return cv2.warpPerspective(img, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _degrade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """Blur, low resolution, noise and JPEG artefacts."""
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.5))
    if rng.random() < 0.3:
        f = rng.uniform(0.3, 0.8)
        small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 12), img.shape)
        img = img + noise.astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:  # colour inversion-free contrast change
        alpha = rng.uniform(0.6, 1.2)
        out = cv2.convertScaleAbs(out, alpha=alpha, beta=rng.uniform(-20, 20))
    if rng.random() < 0.6:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 95)])
        if ok:
            out = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return out


_DESCRIBED: Set[Tuple[int, int, int, float]] = set()  # renderer settings already logged


class WordRenderer:
    """Deterministic renderer: image ``i`` of epoch ``e`` depends only on (seed, e, i)."""

    def __init__(self, seed: int = 0, fonts: str = "", words: str = "", max_length: int = 23,
                 backgrounds: str = "", num_frames: int = 24, line_words: int = 1, min_length: int = 0,
                 short_share: float = 0.0) -> None:
        self.seed = seed
        self.num_frames = num_frames
        self.line_words = line_words
        self.min_length = min_length
        self.fonts = find_fonts(fonts)
        self.photos = find_backgrounds(backgrounds)
        if not self.photos and backgrounds != "none":
            log.warning("no background photos found: rendering on plain, gradient and noise backgrounds only "
                        "(scripts/setup.sh installs mate-backgrounds and gnome-backgrounds)")
        if not self.fonts and fonts:
            raise UsageError(f"fonts: no Latin-capable TrueType/OpenType font in {fonts}")
        if not self.fonts:
            log.warning("no TrueType fonts found: rendering with Pillow's built-in font only "
                        "(scripts/setup.sh installs the font packages it uses)")
        self.words = load_words(words)
        self.short_share = short_share
        self.short = short_words(self.words) if short_share > 0 else ()
        self.max_length = max_length
        described = (len(self.fonts), len(self.photos), len(self.words), short_share)
        if described not in _DESCRIBED:  # once per process and set, not once per epoch
            _DESCRIBED.add(described)
            log.info("renderer: %d fonts, %d background photos, %d words (%.0f%% of draws short words)", *described[:3],
                     100 * short_share)

    def rng(self, epoch: int, index: int) -> random.Random:
        return random.Random((self.seed * 1_000_003 + epoch) * 10_000_019 + index)

    def text(self, epoch: int, index: int) -> str:
        return sample_line(self.rng(epoch, index), self.words, self.max_length, self.num_frames, self.line_words,
                           self.min_length, self.short, self.short_share)

    def image(self, epoch: int, index: int, text: str) -> np.ndarray:
        rng = self.rng(epoch, index)
        rng.random()  # decorrelate from the text draw
        return render_word(text, rng, self.fonts, self.photos)


class RenderedSource(ListSource):
    """``num_samples`` freshly rendered words per epoch (different words and styles every epoch)."""

    name = "rendered"

    def __init__(self, num_samples: int, epoch: int = 0, seed: int = 0, fonts: str = "", words: str = "",
                 backgrounds: str = "", line_words: int = 1, short_share: float = 0.0, **kwargs: Any) -> None:
        self.renderer = WordRenderer(seed, fonts, words, kwargs.get("max_text_length", 23), backgrounds,
                                     kwargs.get("num_frames", 24), line_words, short_share=short_share)
        self.epoch = epoch
        entries = [(f"rendered:{epoch}:{i}", self.renderer.text(epoch, i)) for i in range(num_samples)]
        super().__init__(entries, **kwargs)
        self._raw = {key: label for key, label in entries}

    def load_image(self, index: int) -> np.ndarray:
        key = self.keys[index]
        i = int(key.rsplit(":", 1)[1])
        return self.renderer.image(self.epoch, i, self._raw[key])


# ---------------------------------------------------------------------------- MJSynth-layout writer
def write_mjsynth(output: str, num: int, seed: int = 0, fonts: str = "", words: str = "",
                  val_fraction: float = 0.0, test_fraction: float = 0.0, per_dir: int = 1000,
                  backgrounds: str = "") -> dict:
    """Write ``num`` rendered images as an MJSynth folder; return counts per split."""
    from tqdm import tqdm

    renderer = WordRenderer(seed, fonts, words, backgrounds=backgrounds)
    os.makedirs(output, exist_ok=True)
    lexicon: List[str] = []
    lex_index = {}
    splits = {"train": [], "val": [], "test": []}
    split_rng = random.Random(seed)
    for i in tqdm(range(num), desc="render", unit="img", disable=None):
        text = renderer.text(0, i)
        img = renderer.image(0, i, text)
        if text not in lex_index:
            lex_index[text] = len(lexicon)
            lexicon.append(text)
        idx = lex_index[text]
        sub = str(i // per_dir)
        os.makedirs(os.path.join(output, sub), exist_ok=True)
        rel = f"./{sub}/{i}_{text}_{idx}.jpg"
        cv2.imwrite(os.path.join(output, rel), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        r = split_rng.random()
        split = "val" if r < val_fraction else "test" if r < val_fraction + test_fraction else "train"
        splits[split].append(f"{rel} {idx}")
    with open(os.path.join(output, "lexicon.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lexicon) + "\n")
    for split, lines in splits.items():
        if lines or split == "train":
            with open(os.path.join(output, f"annotation_{split}.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + ("\n" if lines else ""))
    return {k: len(v) for k, v in splits.items()}


def rendered_items(num: int, seed: int = 0, fonts: str = "", words: str = "", backgrounds: str = "",
                   line_words: int = 1, min_length: int = 0, max_length: int = 23
                   ) -> Iterator[Tuple[str, bytes, str]]:
    """(name, JPEG bytes, label) for ``num`` rendered words, for the LMDB writer."""
    renderer = WordRenderer(seed, fonts, words, max_length, backgrounds=backgrounds,
                            num_frames=max(24, max_length + 1), line_words=line_words, min_length=min_length)
    for i in range(num):
        text = renderer.text(0, i)
        ok, enc = cv2.imencode(".jpg", renderer.image(0, i, text), [cv2.IMWRITE_JPEG_QUALITY, 95])
        if ok:
            yield f"rendered:{i}", enc.tobytes(), text


SHEET_MAX = 120


def write_sheet(path: str, num: int, seed: int = 0, fonts: str = "", words: str = "",
                backgrounds: str = "") -> None:
    """An image file (PNG, JPEG) of the first ``num`` renderings of a stream in a grid of six columns, each
    with its label above it."""
    import matplotlib

    matplotlib.use("Agg")   # no display: files only
    import matplotlib.pyplot as plt

    renderer = WordRenderer(seed, fonts, words, backgrounds=backgrounds)
    columns, rows = 6, -(-num // 6)
    fig, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 0.95 * rows + 0.4), dpi=100, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < num:
            text = renderer.text(0, i)
            ax.imshow(renderer.image(0, i, text)[..., ::-1], aspect="auto")
            ax.set_title(text, fontsize=8, pad=2)
    fig.suptitle(f"rendered words ({len(renderer.fonts)} fonts, {len(renderer.photos)} photos, seed {seed})",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Render words into an MJSynth-layout folder (or a sheet of samples).",
                                     allow_abbrev=False)
    parser.add_argument("--output", "-o", default="", help="output folder")
    parser.add_argument("--sheet", default="",
                        help=f"instead of a dataset, draw the first --num renderings (at most {SHEET_MAX}) with "
                             "their labels into this image file (.png, .jpg): what a set of fonts, photos and "
                             "words looks like")
    parser.add_argument("--num", "-n", type=int, default=10000, help="number of images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fonts", default="", help="font files/folders, comma separated (default: system fonts)")
    parser.add_argument("--words", default="", help="word list (default: /usr/share/dict/words)")
    parser.add_argument("--backgrounds", default="",
                        help="photo files/folders, comma separated (default: /usr/share/backgrounds; none: no photos)")
    parser.add_argument("--val_fraction", type=float, default=0.0)
    parser.add_argument("--test_fraction", type=float, default=0.0)
    parser.add_argument("--line_words", type=int, default=1,
                        help="words per image: 1 to N, joined by spaces (text lines; needs --lmdb)")
    parser.add_argument("--min_length", type=int, default=0, help="lines at least this long (more words)")
    parser.add_argument("--max_length", type=int, default=23, help="labels at most this long")
    add_bool_flag(parser, "lmdb", help="write an image+label LMDB instead of a folder")
    args = parser.parse_args(argv)
    if args.num <= 0:
        parser.error("--num must be > 0")
    if bool(args.output) == bool(args.sheet):
        parser.error("give either --output (a dataset) or --sheet (an image of samples)")
    if (args.line_words > 1 or args.min_length > 0) and not args.lmdb:
        parser.error("text lines hold spaces, which MJSynth file names cannot: add --lmdb")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.time()
    try:
        if args.sheet:
            drawn = min(args.num, SHEET_MAX)
            write_sheet(args.sheet, drawn, args.seed, args.fonts, args.words, args.backgrounds)
            print(f"drew {drawn} renderings into {args.sheet}")
            return 0
        if args.lmdb:
            from .create_lmdb import write_lmdb

            written, _, _ = write_lmdb(args.output, rendered_items(args.num, args.seed, args.fonts, args.words,
                                                                   args.backgrounds, args.line_words,
                                                                   args.min_length, args.max_length), args.num)
            counts = {"train": written}
        else:
            counts = write_mjsynth(args.output, args.num, args.seed, args.fonts, args.words,
                                   args.val_fraction, args.test_fraction, backgrounds=args.backgrounds)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    elapsed = time.time() - start
    print(f"wrote {args.num} images to {args.output} ({counts}) in {elapsed:.1f}s = {args.num / elapsed:.0f} img/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
