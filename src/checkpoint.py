"""Checkpoints: atomic, CRC-checked writes; strict loads; newest-valid discovery for resume.

A checkpoint stores the network (and, during training, the optimizer state) plus
metadata: epoch and step reached, the config hash of the keys that define the
network and the model spec (:mod:`src.spec`: alphabet, case, input size, hidden size,
resizing, label length), so that a checkpoint is never loaded into a network it does
not fit and every reader can build the network from the checkpoint alone.
"""
from __future__ import annotations

import glob
import logging
import os
import re
from typing import Dict, List, Optional, Tuple, Union

import mindspore as ms
import numpy as np
from mindspore import nn

from .errors import CrnnError
from .spec import SPEC_KEY, ModelSpec

log = logging.getLogger(__name__)

META_KEYS = ("epoch_num", "step_num", "global_step_num", "config_hash", "alphabet", "resize_interpolation", SPEC_KEY)
_NAME = re.compile(r"crnn-(\d+)_(\d+)\.ckpt$")


class CheckpointError(CrnnError, ValueError):
    """A checkpoint is missing, corrupt, or does not fit the network."""


def _worth_saving(name: str) -> bool:
    """The per-step learning-rate table is rebuilt from the config, not stored."""
    return name != "learning_rate"


def checkpoint_name(epoch: int, step: int) -> str:
    return f"crnn-{epoch}_{step}.ckpt"


def save(obj: Union[nn.Cell, List[Dict]], path: str, meta: Dict) -> None:
    """Write ``obj`` (a Cell or parameter list) to ``path`` atomically: a temp file, then rename."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # MindSpore appends ".ckpt" to names that lack it, so the temp name keeps the suffix
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{name if name.endswith('.ckpt') else name + '.ckpt'}")
    try:
        ms.save_checkpoint(obj, tmp, append_dict=dict(meta), crc_check=True, choice_func=_worth_saving)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read(path: str) -> Tuple[Dict[str, ms.Parameter], Dict]:
    """(parameters, metadata) of a checkpoint; raise CheckpointError if unreadable or corrupt."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        data = ms.load_checkpoint(path, crc_check=True)
    except (ValueError, RuntimeError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({err})") from err
    meta = {}
    for key in META_KEYS:
        if key in data:
            value = data.pop(key)
            meta[key] = value if isinstance(value, str) else int(value.asnumpy())
    return data, meta


def check_fits(net: nn.Cell, params: Dict[str, ms.Parameter], path: str, meta: Dict,
               alphabet: Optional[str] = None) -> None:
    """Raise CheckpointError naming every missing or mis-shaped network parameter."""
    missing, wrong = [], []
    for p in net.get_parameters():
        if p.name not in params:
            missing.append(p.name)
        elif tuple(params[p.name].shape) != tuple(p.shape):
            wrong.append(f"{p.name} {tuple(params[p.name].shape)} != {tuple(p.shape)}")
    problems = []
    if alphabet is not None and "alphabet" in meta and meta["alphabet"] != alphabet:
        problems.append(f"it was trained with alphabet {meta['alphabet']!r}, the config has {alphabet!r}")
    if wrong:
        head = [w for w in wrong if "embedding" in w]
        if head and len(wrong) == len(head):
            problems.append("class count mismatch (another alphabet?): " + "; ".join(head))
        else:
            problems.append(f"{len(wrong)} parameters have other shapes: " + "; ".join(wrong[:6]))
    if missing:
        problems.append(f"{len(missing)} parameters missing: " + ", ".join(missing[:8]))
    if problems:
        raise CheckpointError(f"checkpoint {path} does not fit the network: " + " | ".join(problems))


def load_into(net: nn.Cell, path: str, alphabet: Optional[str] = None) -> Dict:
    """Load every parameter of ``net`` from ``path`` (all or nothing); return the metadata."""
    params, meta = read(path)
    check_fits(net, params, path, meta, alphabet)
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=True)
    if not_loaded:
        raise CheckpointError(f"checkpoint {path}: parameters not loaded: {not_loaded[:8]}")
    unused = unused_network_tensors(net, params)
    if unused:
        log.info("checkpoint %s: %d tensors the network does not use: %s%s", path, len(unused), ", ".join(unused),
                 " (the reference V2's bn1, which its forward pass never calls)" if all(".bn1." in u for u in unused)
                 else "")
    return meta


def unused_network_tensors(net: nn.Cell, params: Dict[str, ms.Parameter]) -> List[str]:
    """Tensors named like network layers (not optimizer state) that ``net`` has no parameter for."""
    own = {p.name for p in net.get_parameters()}
    prefixes = {name.split(".", 1)[0] + "." for name in own}
    return sorted(n for n in params if n not in own and any(n.startswith(p) for p in prefixes))


HEAD_PREFIX = "rnn.1.embedding."  # the CTC head: the last BiLSTM block's Dense


def head_rows(old_alphabet: str, new_alphabet: str, case_twins: bool = True) -> Tuple[List[int], List[str]]:
    """For each class of ``new_alphabet`` (its characters, then the blank), the row of the old head it
    starts from (-1: fresh), and the new characters. Rows are matched by character, so a reordered
    alphabet maps exactly; with ``case_twins`` a new letter starts from its other-case twin's row."""
    old = {c: i for i, c in enumerate(old_alphabet)}
    rows, new = [], []
    for c in new_alphabet:
        if c in old:
            rows.append(old[c])
            continue
        new.append(c)
        twin = c.lower() if c.isupper() else c.upper()
        rows.append(old.get(twin, -1) if case_twins and twin != c else -1)
    rows.append(len(old_alphabet))  # blank -> blank
    return rows, new


def _head_from_rows(value: np.ndarray, initial: np.ndarray, rows: List[int]) -> np.ndarray:
    out = initial.copy()
    for i, row in enumerate(rows):
        if row >= 0:
            out[i] = value[row]
    return out


def load_pretrained(net: nn.Cell, path: str, alphabet: str, case_twins: bool = True) -> List[str]:
    """Start ``net`` from the weights in ``path`` (no training state); return what was not loaded, and why.

    Parameters whose shape differs (another hidden size) are left at their initial values. With
    another alphabet the CTC head keeps the rows of every character both alphabets share and of the
    blank, matched by character; only the new characters start fresh (or, with ``case_twins``, from
    their other-case twin). A checkpoint that records no alphabet is taken to have the default one.
    """
    params, meta = read(path)
    old_alphabet = meta.get("alphabet") or ModelSpec().alphabet
    own = {p.name: p for p in net.get_parameters()}
    usable = {name: value for name, value in params.items()
              if name in own and tuple(value.shape) == tuple(own[name].shape) and not name.startswith(HEAD_PREFIX)}
    notes = []
    heads = [name for name in own if name.startswith(HEAD_PREFIX)]
    if old_alphabet == alphabet:
        usable.update({name: params[name] for name in heads
                       if name in params and tuple(params[name].shape) == tuple(own[name].shape)})
    elif all(name in params and params[name].shape[0] == len(old_alphabet) + 1 for name in heads):
        rows, new = head_rows(old_alphabet, alphabet, case_twins)
        for name in heads:
            if params[name].shape[1:] == own[name].shape[1:]:
                usable[name] = ms.Parameter(ms.Tensor(_head_from_rows(params[name].asnumpy(), own[name].asnumpy(),
                                                                      rows)), name=name)
        kept = sum(1 for c in alphabet if c in old_alphabet) + 1
        twins = sum(1 for r, c in zip(rows, alphabet) if r >= 0 and c not in old_alphabet)
        notes.append(f"head: kept {kept} of {len(alphabet) + 1} classes (shared characters and the blank); "
                     f"new: {_ranges(new) or 'none'}" + (f" ({twins} from their other-case twin)" if twins else ""))
    if not usable:
        raise CheckpointError(f"--pretrained {path}: no parameter fits this network (is it a CRNN checkpoint?)")
    ms.load_param_into_net(net, usable, strict_load=False)
    missing = sorted(set(own) - set(usable))
    if missing:
        notes.append(f"re-initialised (shape differs: another hidden size?): {', '.join(missing)}")
    return notes


def _ranges(chars: List[str]) -> str:
    """``A-Z, -`` : runs of three or more consecutive characters shortened, for a log line."""
    parts: List[str] = []
    run: List[str] = []
    for c in chars + [""]:
        if run and (not c or ord(c) != ord(run[-1]) + 1):
            parts += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else [repr(c) if c.isspace() else c for c in run]
            run = []
        if c:
            run.append(c)
    return ", ".join(parts)


def read_spec(path: str) -> Tuple[ModelSpec, bool]:
    """(the model spec of a checkpoint, whether it records one); see :meth:`ModelSpec.from_meta`."""
    return ModelSpec.from_meta(read(path)[1])


def list_checkpoints(directory: str) -> List[str]:
    """``crnn-<epoch>_<step>.ckpt`` files in ``directory``, oldest first (by epoch, then step)."""
    found = []
    for path in glob.glob(os.path.join(directory, "crnn-*.ckpt")):
        m = _NAME.search(path)
        if m:
            found.append(((int(m.group(1)), int(m.group(2)), os.path.getmtime(path)), path))
    return [p for _, p in sorted(found)]


def newest_valid(directory: str) -> Optional[str]:
    """The newest checkpoint in ``directory`` that reads back with a good CRC (warn about broken ones)."""
    for path in reversed(list_checkpoints(directory)):
        try:
            read(path)
            return path
        except CheckpointError as err:
            log.warning("skipping broken checkpoint: %s", err)
    return None


def prune(directory: str, keep: int) -> None:
    """Delete the oldest checkpoints beyond ``keep``."""
    files = list_checkpoints(directory)
    for path in files[: max(0, len(files) - keep)]:
        os.remove(path)
