"""The model spec: what a checkpoint or an exported model must say for anyone to use it with no flags.

Written once (:meth:`ModelSpec.to_meta`) into every checkpoint ``train.py`` and
``tools/release_checkpoint.py`` write and into export.py's JSON; read by every path that builds a
network or feeds one (eval, infer, export, the Recognizer, ``--resume``, ``--pretrained``). A model
without a spec (the reference's checkpoints, older releases) reads as the defaults below plus the
alphabet and resizing it does record.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .errors import CrnnError

#: the checkpoint / JSON key holding the spec, as one JSON string
SPEC_KEY = "model_spec"
SPEC_VERSION = 1
DEFAULT_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class SpecError(CrnnError, ValueError):
    """A flag contradicts the model's own spec, or a spec cannot be read."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything that decides what a model's parameters and outputs mean and how images are fed to it."""

    alphabet: str = DEFAULT_ALPHABET
    case_sensitive: bool = False
    image_height: int = 32
    image_width: int = 100
    hidden_size: int = 256
    interpolation: str = "bilinear"
    keep_aspect_ratio: bool = False
    max_text_length: int = 23
    model_version: str = "V2"

    # ------------------------------------------------------------------ config <-> spec
    #: spec field -> config key (the same name except the resizing)
    CONFIG_KEYS = {"interpolation": "resize_interpolation"}

    @classmethod
    def config_key(cls, field: str) -> str:
        return cls.CONFIG_KEYS.get(field, field)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], alphabet: Optional[str] = None) -> "ModelSpec":
        """The spec a training run with ``cfg`` produces (``alphabet``: the resolved one, e.g. from a file)."""
        values = {f.name: cfg[cls.config_key(f.name)] for f in dataclasses.fields(cls)}
        values["alphabet"] = alphabet if alphabet is not None else cfg["alphabet"]
        values["interpolation"] = values["interpolation"] or "bilinear"
        return cls(**values)

    def config_values(self) -> Dict[str, Any]:
        """The spec as config keys and values (to build a network or a data pipeline from it)."""
        return {self.config_key(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}

    # ------------------------------------------------------------------ metadata
    def to_meta(self) -> Dict[str, Any]:
        """Metadata for a checkpoint or an export JSON: the spec as one JSON string, plus the two keys
        readers of older releases look for (``alphabet``, ``resize_interpolation``)."""
        blob = dict(dataclasses.asdict(self), spec_version=SPEC_VERSION)
        return {SPEC_KEY: json.dumps(blob, ensure_ascii=False, sort_keys=True), "alphabet": self.alphabet,
                "resize_interpolation": self.interpolation}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Tuple["ModelSpec", bool]:
        """(spec, whether the model recorded one). Without a spec: the defaults, plus the alphabet and
        resizing older checkpoints and exports record (export JSONs also record their input size)."""
        raw = meta.get(SPEC_KEY)
        if raw:
            values = json.loads(raw) if isinstance(raw, str) else dict(raw)
            version = values.pop("spec_version", 1)
            if version > SPEC_VERSION:
                raise SpecError(f"model spec version {version} is newer than this code reads ({SPEC_VERSION}): "
                                f"update the project")
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in values.items() if k in known}), True
        legacy = {"alphabet": meta.get("alphabet") or DEFAULT_ALPHABET,
                  "interpolation": meta.get("resize_interpolation") or "bilinear"}
        for key in ("case_sensitive", "image_height", "image_width"):
            if key in meta:
                legacy[key] = meta[key]
        return cls(**legacy), False

    # ------------------------------------------------------------------ comparisons
    def differences(self, other: "ModelSpec") -> List[Tuple[str, Any, Any]]:
        """(config key, this value, the other's value) for every field that differs."""
        return [(self.config_key(f.name), getattr(self, f.name), getattr(other, f.name))
                for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def describe(self) -> str:
        """One line: ``36 classes + blank (0-9a-z), case-insensitive, 32x100 stretched bilinear, BiLSTM 256, ...``."""
        shape = "padded to keep the aspect ratio" if self.keep_aspect_ratio else "stretched"
        return (f"{len(self.alphabet)} characters + blank ({_short(self.alphabet)}), "
                f"{'case-sensitive' if self.case_sensitive else 'case-insensitive'}, input "
                f"{self.image_height}x{self.image_width} {shape} ({self.interpolation}), BiLSTM {self.hidden_size}, "
                f"max {self.max_text_length} characters, {self.model_version}")


def _short(alphabet: str, keep: int = 24) -> str:
    return alphabet if len(alphabet) <= keep else f"{alphabet[:keep]}..."


def reconcile(spec: ModelSpec, explicit: Mapping[str, Any], what: str, overridable: Tuple[str, ...] = (),
              hint: str = "drop the flag: the model says its own") -> Dict[str, Any]:
    """The config values to use with a model of ``spec``: the spec's own. A flag the user set
    (``explicit``: the keys that differ from the defaults) that says otherwise is one clear error,
    except for the keys in ``overridable``, whose explicit value wins."""
    wanted = spec.config_values()
    conflicts = []
    for key, value in wanted.items():
        if key not in explicit or explicit[key] in (value, ""):
            continue
        if key in overridable:
            wanted[key] = explicit[key]
        else:
            conflicts.append(f"--{key}={explicit[key]!r} but the model has {key}={value!r}")
    if conflicts:
        raise SpecError(f"{what}: " + "; ".join(conflicts) + f" ({hint})")
    return wanted


def explicit_model_flags(cfg: Any) -> Dict[str, Any]:
    """The spec keys the user set (:attr:`src.config.Config.explicit`: on the command line or in a
    ``--config_path`` recipe), with ``alphabet_file`` read into ``alphabet``."""
    from .charset import read_alphabet_file

    keys = set(ModelSpec().config_values()) & set(getattr(cfg, "explicit", ()))
    flags = {k: cfg[k] for k in keys}
    if cfg.get("alphabet_file"):
        flags["alphabet"] = read_alphabet_file(cfg["alphabet_file"])
    return flags


def resolve(meta: Mapping[str, Any], given: Mapping[str, Any], what: str) -> ModelSpec:
    """The spec to run a model with: its own (``meta``), and where it records none, the defaults
    overridden by ``given`` (config keys; None means not given). A given value that contradicts a
    recorded spec is a :class:`SpecError`, except the resizing, which may be tried otherwise."""
    spec, recorded = ModelSpec.from_meta(meta)
    given = {k: v for k, v in given.items() if v is not None}
    if recorded:
        values = reconcile(spec, given, what, overridable=("resize_interpolation",))
    else:
        values = dict(spec.config_values(), **given)
    return ModelSpec.from_config(values)
