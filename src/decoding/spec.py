"""One way to name a decoder, everywhere (``eval.py --decoders``, ``infer.py --decoder``, the Recognizer,
the yaml): ``NAME[:PARAM][+KEY=VALUE...]``.

    greedy                          best path
    beam:10                         CTC prefix beam search, 10 beams (``beam`` alone: 10)
    beam:10+prior=words.txt         ... with a character n-gram prior from a word list (+prior_weight=0.3)
    lexicon:50  lexicon:1k          IIIT5K's per-image lexicons (50 / 1000 words)
    lexicon=words.txt               the best word of one word list (+delta=3: edit distance searched)
    lexicon                         (Python API) the word list the caller passes

Older names still work, with one deprecation line: ``lex50``/``small`` (``lexicon:50``), ``lex1k``/``medium``
(``lexicon:1k``), a bare word-list path in ``--decoders`` (``lexicon=PATH``), and the yaml keys
``beam_width``/``lexicon`` (:func:`from_legacy_keys`).
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import UsageError

log = logging.getLogger("crnn")

DEFAULT_BEAM_WIDTH = 10
#: per-image lexicon sizes: the spec's parameter -> IIIT5K's lexicon name
PER_IMAGE = {"50": "small", "1k": "medium"}
ALIASES = {"lex50": "lexicon:50", "small": "lexicon:50", "lex1k": "lexicon:1k", "medium": "lexicon:1k"}
_OPTIONS = {"beam": ("prior", "prior_weight"), "lexicon": ("delta",), "greedy": ()}


class DecoderSpecError(UsageError):
    """A decoder spec that does not parse."""


@dataclass(frozen=True)
class DecoderSpec:
    """A parsed decoder spec; ``str()`` gives its canonical text, which also names it in results."""

    kind: str                      # greedy, beam or lexicon
    beam_width: int = DEFAULT_BEAM_WIDTH
    prior: str = ""                # beam: word list of the n-gram prior
    prior_weight: float = 0.3
    lexicon: str = ""              # lexicon: "50" / "1k" (per image) or a word-list path
    delta: int = 3

    @property
    def per_image(self) -> Optional[str]:
        """``small``/``medium`` when the decoder reads each image's own lexicon, else None."""
        return PER_IMAGE.get(self.lexicon) if self.kind == "lexicon" else None

    def __str__(self) -> str:
        if self.kind == "greedy":
            return "greedy"
        if self.kind == "beam":
            text = f"beam:{self.beam_width}"
            if self.prior:
                text += f"+prior={self.prior}" + (f"+prior_weight={self.prior_weight:g}"
                                                  if self.prior_weight != 0.3 else "")
            return text
        text = f"lexicon:{self.lexicon}" if self.per_image else f"lexicon={self.lexicon}"
        return text + (f"+delta={self.delta}" if self.delta != 3 else "")


def _deprecated(old: str, new: str) -> None:
    log.warning("decoder %r is now written %r (the old name still works, for now)", old, new)


def parse_decoder_spec(text: str) -> DecoderSpec:
    """Parse one spec (see the module docstring); raise :class:`DecoderSpecError` with the grammar."""
    raw = text.strip()
    if raw in ALIASES:
        _deprecated(raw, ALIASES[raw])
        raw = ALIASES[raw]
    head, *extras = raw.split("+")
    options: Dict[str, str] = {}
    for extra in extras:
        key, eq, value = extra.partition("=")
        if not eq or not value:
            raise _error(text, f"'+{extra}' is not KEY=VALUE")
        options[key] = value
    if head.startswith("lexicon="):
        kind, param, path = "lexicon", "", head.split("=", 1)[1]
    else:
        kind, _, param = head.partition(":")
        path = ""
    if kind not in _OPTIONS:
        if not extras and os.path.isfile(raw):
            _deprecated(raw, f"lexicon={raw}")
            return DecoderSpec("lexicon", lexicon=raw)
        raise _error(text, f"unknown decoder {kind!r}")
    unknown = sorted(set(options) - set(_OPTIONS[kind]))
    if unknown:
        raise _error(text, f"{kind} takes no option {', '.join(unknown)} (it takes: {', '.join(_OPTIONS[kind]) or 'none'})")
    try:
        if kind == "greedy":
            if param:
                raise ValueError("greedy takes no parameter")
            return DecoderSpec("greedy")
        if kind == "beam":
            width = int(param) if param else DEFAULT_BEAM_WIDTH
            if width < 1:
                raise ValueError("the beam width must be at least 1")
            return DecoderSpec("beam", beam_width=width, prior=options.get("prior", ""),
                               prior_weight=float(options.get("prior_weight", 0.3)))
        if param and param not in PER_IMAGE:
            raise ValueError(f"lexicon:{param}: per-image lexicons are 50 or 1k (a word list: lexicon=FILE)")
        return DecoderSpec("lexicon", lexicon=param or path, delta=int(options.get("delta", 3)))
    except ValueError as err:
        raise _error(text, str(err)) from None


def _error(text: str, why: str) -> DecoderSpecError:
    return DecoderSpecError(f"decoder {text!r}: {why} (specs: greedy, beam:10, beam:10+prior=FILE, lexicon:50, "
                            f"lexicon:1k, lexicon=FILE)")


def parse_decoder_list(text: str) -> List[DecoderSpec]:
    """A comma-separated list of specs, in order, duplicates removed."""
    specs: List[DecoderSpec] = []
    for part in str(text).split(","):
        if part.strip():
            spec = parse_decoder_spec(part)
            if spec not in specs:
                specs.append(spec)
    return specs


def specs_from_config(cfg: Mapping[str, Any]) -> List[DecoderSpec]:
    """The decoders ``cfg`` asks for: ``decoders`` (specs), else what the old keys ``beam_width``/``lexicon``
    meant; the old ``beam_prior``/``beam_prior_weight``/``lexicon_delta`` fill in specs that do not say."""
    text, note = (cfg["decoders"], None) if cfg["decoders"] else from_legacy_keys(cfg["beam_width"], cfg["lexicon"])
    if note:
        log.warning(note)
    specs = parse_decoder_list(text)
    fills = {"beam": {"prior": cfg.get("beam_prior", ""), "prior_weight": cfg.get("beam_prior_weight", 0.3)},
             "lexicon": {"delta": cfg.get("lexicon_delta", 3)}}
    defaults = {"prior": "", "prior_weight": 0.3, "delta": 3}
    out = []
    for spec in specs:
        extra = {k: v for k, v in fills.get(spec.kind, {}).items()
                 if v != defaults[k] and getattr(spec, k) == defaults[k]}
        if extra:
            spec = dataclasses.replace(spec, **extra)
            log.warning("--%s: now written as part of the decoder spec, %s", ", --".join(
                {"prior": "beam_prior", "prior_weight": "beam_prior_weight", "delta": "lexicon_delta"}[k]
                for k in extra), spec)
        out.append(spec)
    return out


def from_legacy_keys(beam_width: int, lexicon: str) -> Tuple[str, Optional[str]]:
    """The spec the old yaml keys ``beam_width``/``lexicon`` meant, and a deprecation line (None: defaults)."""
    if lexicon not in ("", "none"):
        spec = ALIASES.get(lexicon, f"lexicon={lexicon}")
        return spec, f"--lexicon={lexicon} is now --decoders={spec} (the old key still works, for now)"
    if beam_width > 1:
        return f"beam:{beam_width}", f"--beam_width={beam_width} is now --decoders=beam:{beam_width}"
    return "greedy", None
