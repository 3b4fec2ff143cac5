"""What a run leaves in its folder besides checkpoints: ``metrics.jsonl`` (one JSON line per log line and
per evaluation, for curves) and ``best.ckpt`` + ``best.json`` (the network of the best hold-out epoch)."""
from __future__ import annotations

import json
import logging
import os
from typing import Dict, Mapping

from mindspore import nn

from .. import checkpoint

log = logging.getLogger("crnn")


class RunRecords:
    """Rank 0's records in ``folder``; other ranks write nothing."""

    def __init__(self, folder: str, is_main: bool = True) -> None:
        self.folder = folder
        self.is_main = is_main
        self.best_path = os.path.join(folder, "best.ckpt")

    def append(self, entry: Dict) -> None:
        """Append one JSON line to ``metrics.jsonl``."""
        if self.is_main:
            os.makedirs(self.folder, exist_ok=True)
            with open(os.path.join(self.folder, "metrics.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def best_accuracy(self) -> float:
        """The best hold-out accuracy so far (-1 before any): ``best.json`` survives a resume."""
        record = self.best_path[:-len(".ckpt")] + ".json"
        if not os.path.isfile(record):
            return -1.0
        with open(record, encoding="utf-8") as f:
            return float(json.load(f).get("accuracy", -1.0))

    def keep_best(self, net: nn.Cell, epoch: int, accuracy: float, meta: Mapping) -> bool:
        """Write ``net`` to ``best.ckpt`` when ``accuracy`` beats every earlier epoch; True if it did."""
        best = self.best_accuracy()
        if accuracy <= best:
            log.info("hold-out best stays %.4f (%s)", best, self.best_path)
            return False
        checkpoint.save(net, self.best_path, dict(meta))
        with open(self.best_path[:-len(".ckpt")] + ".json", "w", encoding="utf-8") as f:
            json.dump({"epoch": epoch, "accuracy": accuracy}, f)
        log.info("hold-out best %.4f at epoch %d: network written to %s", accuracy, epoch, self.best_path)
        return True
