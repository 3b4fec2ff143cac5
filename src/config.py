"""One configuration source: ``default_config.yaml`` plus ``--key=value`` overrides.

Every key in the yaml becomes a command-line flag whose type follows the default
value; the comment after a key is its ``--help`` text. ``--config_path`` selects
another yaml (its keys override the defaults, unknown keys are an error).
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

from .errors import CrnnError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(ROOT, "default_config.yaml")

DATASETS = ("synth", "rendered", "lmdb", "iiit5k", "ic03", "ic13", "ic15", "svt", "list")
CHOICES = {
    "device_target": ("CPU", "GPU", "Ascend"),
    "mode": ("GRAPH", "PYNATIVE"),
    "amp_level": ("O0", "O1", "O2", "O3"),
    "loss_scale_type": ("dynamic", "static"),
    "model_version": ("V2",),
    "lr_schedule": ("cosine", "cosine_step", "constant"),
    "optimizer": ("momentum", "adam"),
    "file_format": ("MINDIR", "ONNX", "AIR"),
    "export_target": ("CPU", "GPU", "Ascend"),
    "backend": ("auto", "mindspore"),
    "resize_interpolation": ("", "bilinear", "area"),  # empty: the model's own (data.transforms.model_interpolation)
    "int8": ("none", "static", "dynamic", "auto"),
    "augment_strength": ("mild", "strong"),
    "holdout_metric": ("word", "char"),
    "holdout_pick": ("best", "latest_not_worse"),
    "train_eval_dataset": DATASETS,
    "eval_dataset": DATASETS + ("all",),
}

# Keys that change what a checkpoint's parameters mean; resuming or evaluating with
# different values is refused.
MODEL_KEYS = ("alphabet", "case_sensitive", "model_version", "image_height", "image_width", "hidden_size")


class ConfigError(CrnnError, ValueError):
    """A configuration value is missing, malformed or inconsistent."""


class Config(dict):
    """A dict whose keys are also attributes (``cfg.batch_size``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(f"config has no key {name!r}") from err

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    @property
    def explicit(self) -> frozenset:
        """The keys the user set: on the command line, in a ``--config_path`` file or as overrides."""
        return self.__dict__.get("_explicit", frozenset())

    def model_hash(self) -> str:
        """Short hash of the keys that define the network's parameters and outputs."""
        blob = json.dumps({k: self[k] for k in MODEL_KEYS}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _read_yaml(path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value")
    return data


def _read_help(path: str) -> Dict[str, str]:
    """Help text of each key: the comment on the key's line."""
    helps: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\w+):.*?#\s*(.*)$", line)
            if m:
                helps[m.group(1)] = m.group(2).strip()
    return helps


def parse_bool(text: str) -> bool:
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def add_bool_flag(parser: argparse.ArgumentParser, name: str, default: bool = False, help: str = " ") -> None:
    """One grammar for switches in every script: ``--name``, ``--name=True`` and ``--name=false`` all work."""
    parser.add_argument(f"--{name}", type=parse_bool, nargs="?", const=True, default=default, metavar="BOOL",
                        help=help)


def _flag_type(default: Any):
    if isinstance(default, bool):
        return parse_bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def build_parser(defaults: Dict[str, Any], helps: Dict[str, str], description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--config_path", default=DEFAULT_CONFIG, help="yaml file with the defaults")
    for key, value in defaults.items():
        if isinstance(value, bool):
            add_bool_flag(parser, key, value, helps.get(key, " "))
            continue
        parser.add_argument(f"--{key}", type=_flag_type(value), default=value, choices=CHOICES.get(key),
                            help=helps.get(key, " "))
    return parser


def load_config(argv: Optional[Sequence[str]] = None, description: str = "CRNN",
                overrides: Optional[Dict[str, Any]] = None) -> Config:
    """Defaults from the yaml, then ``--config_path`` file, then command-line flags, then ``overrides``."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--config_path", default=DEFAULT_CONFIG)
    known, _ = pre.parse_known_args(argv)
    defaults = _read_yaml(DEFAULT_CONFIG)
    helps = _read_help(DEFAULT_CONFIG)
    explicit = {a[2:].split("=", 1)[0] for a in (sys.argv[1:] if argv is None else argv) if a.startswith("--")}
    if os.path.abspath(known.config_path) != DEFAULT_CONFIG:
        extra = _read_yaml(known.config_path)
        explicit |= set(extra)
        unknown = sorted(set(extra) - set(defaults))
        if unknown:
            raise ConfigError(f"{known.config_path}: unknown keys {unknown}")
        defaults.update(extra)
    parser = build_parser(defaults, helps, description)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise ConfigError(unknown_option_message(unknown[0], list(defaults) + ["config_path"]))
    cfg = Config(vars(args))
    if overrides:
        unknown = sorted(set(overrides) - set(cfg))
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        cfg.update(overrides)
        explicit |= set(overrides)
    object.__setattr__(cfg, "_explicit", frozenset(explicit & set(cfg)))
    validate(cfg)
    return cfg


def unknown_option_message(option: str, keys: List[str]) -> str:
    """``unknown option --epoch_sizee=3 (did you mean --epoch_size?)``; abbreviations are not accepted."""
    name = option.split("=", 1)[0].lstrip("-")
    close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
    prefixed = [k for k in keys if k.startswith(name)] if name else []
    guess = close or prefixed[:1]
    hint = f" (did you mean --{guess[0]}?)" if guess else " (python <script> --help lists every option)"
    return f"unknown option {option}{hint}"


def changed_keys(cfg: Config) -> Dict[str, Any]:
    """The keys whose value differs from ``default_config.yaml`` (what a log needs to reproduce the run)."""
    defaults = _read_yaml(DEFAULT_CONFIG)
    return {k: v for k, v in sorted(cfg.items()) if k != "config_path" and defaults.get(k) != v}


def describe(cfg: Config, everything: bool = False) -> str:
    """The configuration, one ``key: value`` per line: all keys, or only those that differ from the defaults."""
    items = {k: v for k, v in sorted(cfg.items())} if everything else changed_keys(cfg)
    if not items:
        return "config: the defaults of default_config.yaml"
    title = "config (every key)" if everything else "config (differences from default_config.yaml)"
    return title + ":" + "".join(f"\n  {k}: {v!r}" for k, v in items.items())


def load_config_or_exit(argv: Optional[Sequence[str]] = None, description: str = "CRNN") -> Config:
    """:func:`load_config` for entry points: a bad value prints one line and exits with status 2."""
    try:
        return load_config(argv, description)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _positive(cfg: Config, keys: Iterable[str]) -> List[str]:
    return [f"{k} must be > 0 (got {cfg[k]})" for k in keys if cfg[k] <= 0]


def validate(cfg: Config) -> None:
    """Raise ConfigError with every problem found, before any work starts."""
    problems = _positive(cfg, ("batch_size", "epoch_size", "learning_rate", "max_text_length", "image_height",
                               "image_width", "hidden_size", "log_interval", "save_checkpoint_steps",
                               "keep_checkpoint_max", "eval_batch_size", "num_parallel_workers",
                               "rendered_num_samples", "rendered_line_words", "eval_interval", "max_bad_steps",
                               "loss_scale", "loss_scale_window", "max_image_pixels"))
    for key, allowed in CHOICES.items():
        if cfg[key] not in allowed:
            problems.append(f"{key} must be one of {allowed} (got {cfg[key]!r})")
    if cfg.amp_level != "O0" and cfg.mode == "PYNATIVE" and cfg.device_target == "CPU":
        problems.append(f"amp_level={cfg.amp_level} on CPU needs mode=GRAPH (MindSpore 2.8's PyNative fp16 CPU "
                        f"kernels give non-finite gradients at every step)")
    if cfg.image_height != 32:
        problems.append("image_height must be 32 for the V2 network (4 poolings and a 2x2 valid conv)")
    if cfg.image_width % 4 or cfg.image_width < 8:
        problems.append(f"image_width must be a multiple of 4 and at least 8 (the network emits width/4 - 1 "
                        f"frames), got {cfg.image_width}")
    elif 0 < cfg.max_text_length > cfg.image_width // 4 - 1:
        frames = cfg.image_width // 4 - 1
        problems.append(f"max_text_length {cfg.max_text_length} exceeds the {frames} CTC frames of image_width "
                        f"{cfg.image_width}: use --image_width={4 * (cfg.max_text_length + 1)} or more, or "
                        f"--max_text_length={frames}")
    if cfg.clip_norm < 0 or cfg.warmup_epochs < 0 or cfg.max_steps < 0:
        problems.append("clip_norm, warmup_epochs and max_steps must be >= 0")
    unknown = [n for n in str(cfg.train_dataset).split(",") if n.strip() not in DATASETS]
    if unknown:
        problems.append(f"train_dataset entries must be among {DATASETS} (got {unknown}; several: comma-separated)")
    if cfg.train_mix:
        try:
            [float(x) for x in str(cfg.train_mix).split(",")]
        except ValueError:
            problems.append(f"train_mix must be comma-separated numbers, e.g. 0.6,0.4 (got {cfg.train_mix!r})")
    if not 0 <= cfg.rendered_short_words <= 1:
        problems.append(f"rendered_short_words must be in [0, 1] (got {cfg.rendered_short_words})")
    if cfg.turn_tall and cfg.turn_tall < 1:
        problems.append(f"turn_tall must be 0 (off) or at least 1 (height / width), got {cfg.turn_tall}")
    if not 0 <= cfg.holdout_fraction < 1:
        problems.append(f"holdout_fraction must be in [0, 1) (got {cfg.holdout_fraction})")
    if cfg.pretrained and not os.path.isfile(cfg.pretrained):
        problems.append(f"pretrained checkpoint not found: {cfg.pretrained}")
    if cfg.alphabet_file and not os.path.isfile(cfg.alphabet_file):
        problems.append(f"alphabet_file not found: {cfg.alphabet_file}")
    if problems:
        raise ConfigError("; ".join(problems))
