"""Image in, word out: the one object that owns preprocessing, the network backend, batching and decoding.

    from src.serve.recognizer import Recognizer
    rec = Recognizer.from_checkpoint()                    # the shipped model
    rec = Recognizer.from_exported("crnn.onnx")           # or an exported MINDIR / ONNX / int8 ONNX model
    rec.predict(["word.png", bgr_array, pil_image])       # -> [("hello", 0.93), ...]

The alphabet, input size and resizing come from the model itself (its spec, :mod:`src.spec`, in the
checkpoint or in the JSON export.py writes beside an exported model), so deployment needs no flags.
Preprocessing is :func:`src.data.transforms.preprocess`, the same function the training and
evaluation pipelines map over their samples.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..charset import Charset
from ..config import ROOT
from ..data.transforms import INTERPOLATIONS, ImageError, decode_bgr, preprocess, to_bgr
from ..decoding import Decoder, DecoderSpecError, build_decoder, parse_decoder_spec
from ..decoding.confidence import Reading, char_probs
from ..errors import CrnnError
from ..spec import ModelSpec, SpecError, resolve
from ..model.backend import read_turned
from .backends import Backend, MindSporeBackend, fastest_cpu_backend, load_exported, log_softmax, run_batched

SHIPPED_CHECKPOINT = os.path.join(ROOT, "checkpoints", "crnn_cpu.ckpt")

log = logging.getLogger("crnn")

ImageInput = Union[str, "os.PathLike[str]", np.ndarray, Any]  # Any: a PIL image


class RecognizerError(CrnnError, ValueError):
    """An input image or a model cannot be used (the message names which and why)."""


def load_image(image: ImageInput) -> np.ndarray:
    """A file path, a numpy image (gray, BGR or BGRA, any dtype) or a PIL image -> HxWx3 BGR uint8."""
    if isinstance(image, (str, os.PathLike)):
        try:
            with open(image, "rb") as f:
                return decode_bgr(f.read())
        except (OSError, ImageError) as err:
            raise RecognizerError(f"{os.fspath(image)}: {err}") from err
    if isinstance(image, np.ndarray):
        try:
            return to_bgr(image)
        except ImageError as err:
            raise RecognizerError(f"numpy image of shape {image.shape}: {err}") from err
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL.Image without importing PIL
        rgb = np.asarray(image.convert("RGB"))
        return np.ascontiguousarray(rgb[:, :, ::-1])
    raise RecognizerError(f"unsupported image type {type(image).__name__} (a path, a numpy array or a PIL image)")


if TYPE_CHECKING:
    from ..data.pipeline import SourceOptions


def spec_size(spec: ModelSpec) -> Tuple[int, int]:
    return spec.image_height, spec.image_width


def _resolve(meta: Mapping[str, Any], given: Mapping[str, Any], what: str) -> ModelSpec:
    try:
        return resolve(meta, given, what)
    except SpecError as err:
        raise RecognizerError(str(err)) from err


def _given(alphabet: Optional[str], case_sensitive: Optional[bool], image_size: Optional[Tuple[int, int]],
           interpolation: Optional[str], keep_aspect_ratio: Optional[bool], **others: Any) -> dict:
    """Recognizer arguments as config keys (None: not given)."""
    height, width = image_size if image_size is not None else (None, None)
    return dict(alphabet=alphabet, case_sensitive=case_sensitive, image_height=height, image_width=width,
                resize_interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, **others)


class Recognizer:
    """A network backend plus its alphabet, input size and decoder."""

    def __init__(self, backend: Backend, charset: Charset, image_size: Tuple[int, int] = (32, 100),
                 decoder: str = "greedy", batch_size: int = 64, beam_width: Optional[int] = None,
                 lexicon: Sequence[str] = (), interpolation: str = "bilinear", keep_aspect_ratio: bool = False,
                 turn_tall: float = 0.0) -> None:
        """``decoder`` is a decoder spec (:mod:`src.decoding.spec`: ``greedy``, ``beam:10``, ``lexicon=words.txt``,
        or ``lexicon`` with the ``lexicon`` word list); ``beam_width`` (old API) sets the width of a bare ``beam``.
        ``turn_tall``: read images at least this many times taller than wide also turned 90° each way and keep
        the most confident reading (:func:`src.model.backend.read_turned`; 0: off)."""
        if batch_size <= 0:
            raise RecognizerError(f"batch_size must be > 0 (got {batch_size})")
        if turn_tall and turn_tall < 1:
            raise RecognizerError(f"turn_tall must be 0 (off) or at least 1 (height / width), got {turn_tall}")
        self.turn_tall = turn_tall
        self.backend = backend
        self.charset = charset
        self.image_size = image_size
        if interpolation not in INTERPOLATIONS:
            raise RecognizerError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        #: the model's spec, when it came from a checkpoint or an export (:meth:`from_spec`)
        self.spec: Optional[ModelSpec] = None
        self.batch_size = backend.batch_size or batch_size
        try:
            spec = parse_decoder_spec(decoder)
        except DecoderSpecError as err:
            raise RecognizerError(str(err)) from err
        if spec.kind == "beam" and decoder.strip() == "beam" and beam_width:
            spec = dataclasses.replace(spec, beam_width=beam_width)
        self.decoder_name = str(spec)
        #: why this backend was chosen (set by ``backend="auto"``)
        self.backend_note = backend.name
        self.decoder: Decoder = build_decoder(spec, charset, words=lexicon)

    def source_options(self, options: "SourceOptions") -> "SourceOptions":
        """``options`` with this model's input size and resizing: how a data source must feed it."""
        return dataclasses.replace(options, image_size=self.image_size, interpolation=self.interpolation,
                                   keep_aspect_ratio=self.keep_aspect_ratio)

    @classmethod
    def from_checkpoint(cls, path: str = SHIPPED_CHECKPOINT, alphabet: Optional[str] = None,
                        case_sensitive: Optional[bool] = None, hidden_size: Optional[int] = None,
                        image_size: Optional[Tuple[int, int]] = None, device_target: str = "CPU",
                        backend: str = "mindspore", interpolation: Optional[str] = None,
                        keep_aspect_ratio: Optional[bool] = None, **kwargs: Any) -> "Recognizer":
        """The network loaded strictly from ``path``, built from the checkpoint's own spec
        (:mod:`src.spec`): alphabet, case, input size, hidden size, resizing. An argument left None takes
        the spec's value; one that contradicts it is an error (``interpolation`` may differ: it overrides).
        Checkpoints without a spec (the reference's) take the arguments, else the defaults.

        ``backend``: ``mindspore``, or ``auto`` (CPU only) for the faster of MindSpore and ONNX Runtime on
        this machine whose outputs match (:func:`src.serve.backends.fastest_cpu_backend`; logged).
        """
        if backend not in ("auto", "mindspore"):
            raise RecognizerError(f"unknown backend {backend!r} for a checkpoint (mindspore or auto)")
        import mindspore as ms

        from .. import checkpoint
        from ..model import CRNN

        _, meta = checkpoint.read(path)
        spec = _resolve(meta, _given(alphabet, case_sensitive, image_size, interpolation, keep_aspect_ratio,
                                     hidden_size=hidden_size), f"checkpoint {path}")
        try:
            ms.set_device(device_target)
        except RuntimeError as err:  # the runtime already runs (a second Recognizer in this process)
            if ms.get_context("device_target") != device_target:
                raise RecognizerError(f"cannot switch this process to {device_target}: {err}") from err
        charset = Charset(spec.alphabet, spec.case_sensitive)
        net = CRNN(charset.num_classes, spec.hidden_size)
        checkpoint.load_into(net, path, charset.alphabet)
        net.set_train(False)
        chosen: Backend = MindSporeBackend(net)
        note = chosen.name
        if backend == "auto" and device_target == "CPU":
            with tempfile.TemporaryDirectory(prefix="crnn-onnx-") as workdir:  # ONNX Runtime keeps the model in memory
                chosen, note = fastest_cpu_backend(net, kwargs.get("batch_size", 64), spec_size(spec), workdir)
            log.info("inference backend: %s", note)
        return cls.from_spec(chosen, spec, note, **kwargs)

    @classmethod
    def from_exported(cls, path: str, alphabet: Optional[str] = None, interpolation: Optional[str] = None,
                      **kwargs: Any) -> "Recognizer":
        """An exported ``.onnx`` (ONNX Runtime; int8 ones too) or ``.mindir`` model with export.py's JSON,
        which carries the model's spec; ``interpolation`` overrides its resizing."""
        try:
            backend, meta = load_exported(path)
        except (OSError, ValueError) as err:
            raise RecognizerError(str(err)) from err
        spec = _resolve(meta, _given(alphabet, None, None, interpolation, None), f"model {path}")
        return cls.from_spec(backend, spec, backend.name, **kwargs)

    @classmethod
    def from_spec(cls, backend: Backend, spec: ModelSpec, note: str, **kwargs: Any) -> "Recognizer":
        """A Recognizer feeding ``backend`` as ``spec`` says (alphabet, case, size, resizing)."""
        kwargs.update(interpolation=spec.interpolation, keep_aspect_ratio=spec.keep_aspect_ratio)
        recognizer = cls(backend, Charset(spec.alphabet, spec.case_sensitive), spec_size(spec), **kwargs)
        recognizer.spec = spec
        recognizer.backend_note = note
        return recognizer

    def preprocess(self, images: Sequence[ImageInput]) -> np.ndarray:
        """Network input [N, 3, H, W] float32 for any number of images of any sizes."""
        return np.stack([self._prepare(load_image(img)) for img in images])

    def _prepare(self, bgr: np.ndarray) -> np.ndarray:
        return preprocess(bgr, self.image_size, self.interpolation, self.keep_aspect_ratio)

    def log_probs(self, batch: np.ndarray) -> np.ndarray:
        """Per-frame log-probabilities [T, N, C] of a preprocessed batch."""
        return log_softmax(run_batched(self.backend, batch).astype(np.float32))

    def predict(self, images: Sequence[ImageInput]) -> List[Tuple[str, float]]:
        """(text, confidence) for each image, in order."""
        return [(text, conf) for text, conf, _ in self._decode(images)]

    def read(self, images: Sequence[ImageInput]) -> List[Reading]:
        """Like :meth:`predict`, with each character's probability and frames (:mod:`src.decoding.confidence`:
        the definition the predictions TSV, ``infer.py --char_probs`` and the report share)."""
        return [Reading(text, conf, char_probs(lp, text, self.charset)) for text, conf, lp in self._decode(images)]

    def _decode(self, images: Sequence[ImageInput]) -> List[Tuple[str, float, np.ndarray]]:
        """(text, confidence, log-probabilities [T, C]) for each image, in order."""
        single = isinstance(images, (str, os.PathLike)) or hasattr(images, "convert") or \
            (isinstance(images, np.ndarray) and images.ndim < 4)
        if single:  # one image rather than a sequence (a 4-D array is a batch of images)
            images = [images]
        results: List[Tuple[str, float, np.ndarray]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = [load_image(img) for img in images[start:start + self.batch_size]]
            log_probs = self.log_probs(np.stack([self._prepare(bgr) for bgr in chunk]))
            if self.turn_tall:
                log_probs, _ = read_turned(self.backend, chunk, log_probs, self.turn_tall, self._prepare)
            decoded = self.decoder.decode_batch(log_probs, start)
            results += [(text, conf, log_probs[:, b]) for b, (text, conf) in enumerate(decoded)]
        return results
