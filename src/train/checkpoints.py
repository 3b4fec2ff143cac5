"""A run's checkpoints: rank 0 writes ``ckpt_0/crnn-<epoch>_<step>.ckpt`` with the model spec; every rank
resumes from the newest valid one (or the file ``--resume`` names); ``--pretrained`` starts from weights."""
from __future__ import annotations

import logging
import os
from typing import Dict, Optional

import mindspore as ms
import mindspore.common.dtype as mstype
from mindspore import Tensor, nn

from .. import checkpoint
from ..charset import Charset
from ..config import Config
from ..spec import ModelSpec

log = logging.getLogger("crnn")


def resume_path(cfg: Config) -> Optional[str]:
    """The checkpoint ``--resume`` names: the file, or for "auto" the newest valid one in ckpt_0/ (None: none yet)."""
    if cfg.resume == "auto":
        return checkpoint.newest_valid(os.path.join(cfg.save_checkpoint_path, "ckpt_0"))
    return cfg.resume or None


class RunCheckpoints:
    """Saving, resuming and pretrained weights for one training run (``step_cell`` holds the network and the
    optimiser state; ``net`` is the bare network)."""

    def __init__(self, cfg: Config, rank: int, spec: ModelSpec, charset: Charset, net: nn.Cell,
                 step_cell: nn.Cell) -> None:
        self.cfg = cfg
        self.is_main = rank == 0
        self.spec = spec
        self.charset = charset
        self.net = net
        self.step_cell = step_cell
        self.folder = os.path.join(cfg.save_checkpoint_path, f"ckpt_{rank}")

    def meta(self, epoch: int, step: int, global_step: int) -> Dict:
        return {"epoch_num": epoch, "step_num": step, "global_step_num": global_step,
                "config_hash": self.cfg.model_hash(), **self.spec.to_meta()}

    def newest(self) -> str:
        """The newest valid checkpoint of this run ("" before any)."""
        return checkpoint.newest_valid(self.folder) or ""

    def path(self, epoch: int, step: int) -> str:
        return os.path.join(self.folder, checkpoint.checkpoint_name(epoch, step))

    def save(self, epoch: int, step: int, global_step: int) -> Optional[str]:
        """Rank 0 writes ``crnn-<epoch>_<step>.ckpt`` (epoch 1-based, step within the epoch)."""
        if not (self.cfg.save_checkpoint and self.is_main):
            return None
        path = self.path(epoch, step)
        checkpoint.save(self.step_cell, path, self.meta(epoch, step, global_step))
        checkpoint.prune(self.folder, self.cfg.keep_checkpoint_max)
        return path

    def resume(self) -> int:
        """Load ``cfg.resume`` (or the newest valid checkpoint for "auto"), else ``--pretrained``; return the
        global step to start at."""
        path = resume_path(self.cfg)
        if self.cfg.resume == "auto" and path is None:
            log.info("resume=auto: no checkpoint yet, starting %s",
                     "from --pretrained" if self.cfg.pretrained else "from scratch")
        if not path:
            if self.cfg.pretrained:
                self.load_pretrained(self.cfg.pretrained)
            return 0
        params, meta = checkpoint.read(path)
        spec, recorded = ModelSpec.from_meta(meta)
        if recorded and spec != self.spec:
            raise checkpoint.CheckpointError(f"cannot resume from {path}: it was trained with " + "; ".join(
                f"{key}={theirs!r}, not {ours!r}" for key, theirs, ours in spec.differences(self.spec)))
        if not recorded and meta.get("config_hash") not in (None, self.cfg.model_hash()):
            raise checkpoint.CheckpointError(
                f"cannot resume from {path}: it was trained with another alphabet or architecture "
                f"(config hash {meta.get('config_hash')} != {self.cfg.model_hash()}; alphabet {meta.get('alphabet')!r})")
        checkpoint.check_fits(self.net, params, path, meta, self.charset.alphabet)
        ms.load_param_into_net(self.step_cell, params, strict_load=True)
        global_step = int(meta.get("global_step_num", 0))
        if "global_step_num" not in meta:  # a plain network checkpoint: fine-tune from it
            log.info("loaded weights from %s (no training state: starting at step 0)", path)
            return 0
        self.step_cell.optimizer.global_step.set_data(Tensor([global_step], mstype.int32))
        log.info("resumed from %s at epoch %d, step %d (global step %d)", path, meta.get("epoch_num", 0),
                 meta.get("step_num", 0), global_step)
        return global_step

    def load_pretrained(self, path: str) -> None:
        """Weights only (fresh optimizer, step 0); what does not fit is logged (see checkpoint.load_pretrained)."""
        notes = checkpoint.load_pretrained(self.net, path, self.charset.alphabet, self.cfg.head_from_case_twin)
        log.info("pretrained weights from %s%s", path, "".join(f"; {n}" for n in notes) or "; every layer loaded")
        spec, recorded = checkpoint.read_spec(path)
        changed = spec.differences(self.spec) if recorded else []
        if changed:
            log.info("pretrained model differs in: %s", ", ".join(f"{k} {a!r} -> {b!r}" for k, a, b in changed))
