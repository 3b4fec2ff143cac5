"""The training loop: logs, checkpoints atomically, resumes exactly, evaluates the hold-out.

Its parts live in ``src/train/``: the step (:mod:`src.train.step`: loss scaling, cross-rank mean,
finite check, clipping), signals and stops (:mod:`src.train.signals`), the throughput meter
(:mod:`src.train.meter`). Their names are re-exported here for older imports.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import mindspore as ms
from mindspore import Tensor, nn
import mindspore.common.dtype as mstype
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from . import checkpoint
from .charset import Charset
from .config import Config
from .data.benchmarks import write_label_list
from .data.check import label_length_line
from .data.mix import MixedSource
from .data.pipeline import SourceOptions, build_source, build_training_source, epoch_indices, make_dataset
from .data.source import STATUS_OK, STATUS_REASONS, WordSource
from .distributed import DistInfo
from .errors import SetupError, UsageError
from .evaluation import evaluate_network
from .model import build_crnn, sequence_length
from .schedule import learning_rates
from .spec import ModelSpec, explicit_model_flags, reconcile
from .train.meter import ThroughputMeter
from .train.signals import StopRequest, TrainingAborted, TrainingInterrupted, resume_command
from .train.step import FP16_CELLS, TrainStep, build_train_step, mixed_precision

__all__ = ["FP16_CELLS", "StopRequest", "Trainer", "TrainingAborted", "TrainingInterrupted", "TrainStep",
           "adopt_resumed_spec", "build_train_step", "mixed_precision", "parameter_checksum", "resume_command",
           "resume_path"]
from .utils import LOG_EVERY_SECONDS, format_seconds

log = logging.getLogger("crnn")


def resume_path(cfg: Config) -> Optional[str]:
    """The checkpoint ``--resume`` names: the file, or for "auto" the newest valid one in ckpt_0/ (None: none yet)."""
    if cfg.resume == "auto":
        return checkpoint.newest_valid(os.path.join(cfg.save_checkpoint_path, "ckpt_0"))
    return cfg.resume or None


def adopt_resumed_spec(cfg: Config) -> Optional[str]:
    """Before anything is built: take the model spec of the checkpoint ``--resume`` continues, so a run
    resumes with no model flags; a model flag given that contradicts it is one clear error. Returns a
    log line, or None when there is nothing to adopt."""
    path = resume_path(cfg)
    if not path:
        return None
    spec, recorded = checkpoint.read_spec(path)
    if not recorded:
        return None
    values = reconcile(spec, explicit_model_flags(cfg), f"cannot resume from {path}",
                       hint="drop the flag to continue the run as it was; --pretrained starts a new run from "
                            "these weights with other model settings")
    cfg.update(values, alphabet_file="")
    return f"model spec from {path}: {spec.describe()}"


def _to_tensors(batch: Tuple[np.ndarray, ...]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    images, labels, lengths, status, _ = batch
    weight = (status == STATUS_OK).astype(np.float32)
    return Tensor(images), Tensor(labels), Tensor(lengths), Tensor(weight)


class Trainer:
    """Runs ``cfg.epoch_size`` epochs with logging, checkpoints, resume and optional evaluation."""

    def __init__(self, cfg: Config, dist: DistInfo) -> None:
        self.cfg = cfg
        self.dist = dist
        self.charset = Charset.from_config(cfg)
        self.source_options = SourceOptions.from_config(cfg)
        self.spec = ModelSpec.from_config(cfg, self.charset.alphabet)
        log.info("model: %s", self.spec.describe())
        self.source, self.holdout = build_training_source(cfg, self.charset)
        log.info(self.source.summary())
        if isinstance(getattr(self.source, "labels", None), list):  # sources whose labels are known up front
            log.info(label_length_line(self.source.labels, cfg.max_text_length, sequence_length(cfg.image_width)))
        num = len(self.source)
        if num // dist.size < cfg.batch_size:
            raise UsageError(f"batch_size {cfg.batch_size} is larger than the {num // dist.size} training samples "
                             f"per device: lower --batch_size")
        self.steps_per_epoch = (num // dist.size) // cfg.batch_size
        self.best_path = os.path.join(cfg.save_checkpoint_path, "best.ckpt")
        if self.holdout is not None and dist.is_main:  # so any checkpoint can be scored on it with eval.py
            write_label_list(self.holdout, os.path.join(cfg.save_checkpoint_path, "holdout.tsv"))
        self.net = build_crnn(cfg, self.charset.num_classes)
        self.step_cell = build_train_step(cfg, self.net, self.charset, self.steps_per_epoch)
        self.step_cell.set_train(True)
        self.ckpt_dir = os.path.join(cfg.save_checkpoint_path, f"ckpt_{dist.rank}")
        self.eval_source: Optional[WordSource] = None
        self.skips: Counter = Counter()
        self.bad_steps = 0
        self.consecutive_bad = 0
        self.overflows = 0

    # ---------------------------------------------------------------- checkpoints
    def _meta(self, epoch: int, step: int, global_step: int) -> Dict:
        return {"epoch_num": epoch, "step_num": step, "global_step_num": global_step,
                "config_hash": self.cfg.model_hash(), **self.spec.to_meta()}

    def save(self, epoch: int, step: int, global_step: int) -> Optional[str]:
        """Rank 0 writes ``crnn-<epoch>_<step>.ckpt`` (epoch 1-based, step within the epoch)."""
        if not (self.cfg.save_checkpoint and self.dist.is_main):
            return None
        path = os.path.join(self.ckpt_dir, checkpoint.checkpoint_name(epoch, step))
        checkpoint.save(self.step_cell, path, self._meta(epoch, step, global_step))
        checkpoint.prune(self.ckpt_dir, self.cfg.keep_checkpoint_max)
        return path

    def resume(self) -> int:
        """Load ``cfg.resume`` (or the newest valid checkpoint for "auto"); return the global step to start at."""
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

    # ---------------------------------------------------------------- loop
    def _source_for_epoch(self, epoch: int) -> WordSource:
        if self.cfg.train_dataset == "rendered" and not self.cfg.train_dataset_path and epoch > 0:
            return build_source("rendered", "", self.charset, self.source_options, training=True, epoch=epoch)
        return self.source

    def train(self) -> Dict:
        with StopRequest() as stop:
            return self._train(stop)

    def _train(self, stop: StopRequest) -> Dict:
        cfg, spe = self.cfg, self.steps_per_epoch
        global_step = self.resume()
        total_steps = cfg.epoch_size * spe
        if cfg.max_steps:
            total_steps = min(total_steps, cfg.max_steps)
        lrs = learning_rates(cfg, spe)
        if global_step >= total_steps:
            epoch, step = divmod(global_step, spe)
            log.info("nothing to run: the run already stands at global step %d (epoch %d, step %d), and it stops at %d "
                     "(epoch_size=%d%s); raise --epoch_size or --max_steps to train further", global_step,
                     epoch + (step > 0), step or spe, total_steps, cfg.epoch_size,
                     f", max_steps={cfg.max_steps}" if cfg.max_steps else "")
            return {"steps": global_step, "loss": float("nan"), "seconds": 0.0, "img_per_s": 0.0,
                    "skipped_images": {}, "bad_steps": 0, "loss_scale_overflows": 0}
        log.info("training: %d samples, %d steps per epoch, %d epochs, batch %d x %d devices, %d steps to run",
                 len(self.source), spe, cfg.epoch_size, cfg.batch_size, self.dist.size, total_steps - global_step)
        start_time = time.time()
        meter = ThroughputMeter(cfg.batch_size, self.dist.size)
        last_loss = float("nan")
        first_step = True
        while global_step < total_steps:
            epoch, step_in_epoch = divmod(global_step, spe)
            source = self._source_for_epoch(epoch)
            if isinstance(source, MixedSource):  # global batch g = step * ranks + rank
                first = (epoch * spe + step_in_epoch) * self.dist.size + self.dist.rank
                indices = source.global_batch_indices(first, spe - step_in_epoch, self.dist.size)
            else:
                indices = epoch_indices(len(source), cfg.batch_size, epoch, cfg.seed, cfg.shuffle,
                                        self.dist.size, self.dist.rank)[step_in_epoch * cfg.batch_size:]
            dataset = make_dataset(source, indices, cfg.batch_size, cfg.num_parallel_workers)
            log.info("epoch %d shard %d/%d: %d samples from step %d, first %s", epoch + 1, self.dist.rank,
                     self.dist.size, len(indices), step_in_epoch, [source.key(i) for i in indices[:3]])
            batches = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
            stop.install()
            if not first_step:  # the rate and ETA leave out the epoch-end evaluation and dataset set-up
                meter.restart()
            for batch in self._progress(meter.timed(batches), epoch, step_in_epoch):
                self._inject_fault(global_step + 1)
                self._count_skips(batch[3])
                if first_step:
                    log.info("first step: compiling the training graph (about 10-60 s on a CPU) ...")
                loss, finite, scale = self.step_cell(*_to_tensors(batch))
                stop.install()  # MindSpore's runtime sets its own SIGINT handler (which raises SIGTERM) as it runs graphs
                global_step += 1
                step_in_epoch += 1
                meter.step()
                last_loss = float(loss.asnumpy())
                self._check_finite(bool(finite.asnumpy()), last_loss, float(scale.asnumpy()),
                                   [source.key(i) for i in batch[4][:8]], global_step)
                if first_step:
                    log.info("first step done in %.1f s (graph compilation included)", meter.elapsed())
                if (first_step or global_step % cfg.log_interval == 0 or step_in_epoch == spe
                        or global_step == total_steps or meter.elapsed() >= LOG_EVERY_SECONDS):
                    eta = meter.eta(total_steps - global_step)
                    log.info("epoch %d/%d step %d/%d loss %.4f lr %.6f %.1f img/s data wait %.0f%% eta %s", epoch + 1,
                             cfg.epoch_size, step_in_epoch, spe, last_loss, lrs[min(global_step, len(lrs)) - 1],
                             meter.rate(), 100 * meter.data_wait(),
                             "at the next line (this step compiled the graph)" if first_step else format_seconds(eta))
                    self._record({"step": global_step, "loss": last_loss, "lr": float(lrs[global_step - 1]),
                                  "img_per_s": meter.rate(), "data_wait": round(meter.data_wait(), 4)})
                    meter.restart()
                first_step = False
                if (step_in_epoch == spe or global_step % cfg.save_checkpoint_steps == 0
                        or global_step == total_steps or stop.signum is not None):
                    self.save(epoch + 1, step_in_epoch, global_step)
                if stop.signum is not None:
                    self._interrupted(stop.signum, epoch + 1, step_in_epoch)
                if global_step >= total_steps:
                    break
            if step_in_epoch == spe:
                self._end_of_epoch(epoch + 1)
        elapsed = time.time() - start_time
        summary = {"steps": global_step, "loss": last_loss, "seconds": elapsed,
                   "img_per_s": meter.run_images * self.dist.size / max(elapsed, 1e-9),
                   "skipped_images": dict(self.skips), "bad_steps": self.bad_steps,
                   "loss_scale_overflows": self.overflows}
        log.info("parameter checksum %.10e", parameter_checksum(self.net))
        log.info("done: %d steps, final loss %.4f, %.1f img/s, %s elapsed; unreadable images %s; "
                 "non-finite steps skipped %d%s", global_step, last_loss, summary["img_per_s"],
                 format_seconds(elapsed), dict(self.skips) or 0, self.bad_steps,
                 f"; loss-scale overflows {self.overflows} (scale now {self.loss_scale():g})"
                 if self.cfg.amp_level != "O0" else "")
        return summary

    def _progress(self, batches: Iterator, epoch: int, first_step: int) -> Iterator:
        """``batches`` with a progress bar of the epoch's steps when rank 0 writes to a terminal; log lines
        then print above the bar. In a log file (no terminal) the periodic log lines are the progress."""
        bar = tqdm(total=self.steps_per_epoch, initial=first_step, desc=f"epoch {epoch + 1}/{self.cfg.epoch_size}",
                   unit="step", leave=False, dynamic_ncols=True, disable=None if self.dist.is_main else True)
        if bar.disable:
            yield from batches
            return
        try:
            with logging_redirect_tqdm():
                for batch in batches:
                    yield batch
                    bar.update(1)
        finally:
            bar.close()

    def _interrupted(self, signum: int, epoch: int, step: int) -> None:
        where = os.path.join(self.ckpt_dir, checkpoint.checkpoint_name(epoch, step))
        saved = f"checkpoint {where}" if self.cfg.save_checkpoint else "no checkpoint (save_checkpoint=False)"
        raise TrainingInterrupted(f"interrupted at epoch {epoch} step {step} ({saved}); resume with: "
                                  f"{resume_command(sys.argv)}", 128 + signum)

    def _inject_fault(self, step: int) -> None:
        """Fault injection for the test suite: CRNN_FAIL_AT="<rank>:<step>" makes that rank fail there."""
        spec = os.environ.get("CRNN_FAIL_AT", "")
        if spec and spec == f"{self.dist.rank}:{step}":
            raise SetupError(f"injected fault on rank {self.dist.rank} at step {step} (CRNN_FAIL_AT)")

    def _count_skips(self, status: np.ndarray) -> None:
        for code, reason in STATUS_REASONS.items():
            n = int((status == code).sum())
            if n:
                self.skips[reason] += n
                log.warning("%d images in this batch skipped: %s (total so far: %d)", n, reason, self.skips[reason])

    def loss_scale(self) -> float:
        return float(self.step_cell.scale_sense.asnumpy())

    def _check_finite(self, finite: bool, loss: float, scale: float, keys: List[str], global_step: int) -> None:
        """Count a skipped step. Under dynamic loss scaling a step whose loss is finite but whose gradients
        overflowed at a scale above 1 is the scaler's normal probing (about one per ``loss_scale_window``
        steps): logged, not a bad step. Everything else non-finite counts towards ``max_bad_steps``."""
        if finite:
            self.consecutive_bad = 0
            return
        if self.step_cell.scale_update is not None and np.isfinite(loss) and scale > 1.0:
            self.overflows += 1
            log.info("step %d: gradients overflow at loss scale %g: update skipped, scale now %g",
                     global_step, scale, self.loss_scale())
            return
        self.bad_steps += 1
        self.consecutive_bad += 1
        log.warning("step %d: non-finite loss/gradients (loss %s): update skipped (%d consecutive); samples %s",
                    global_step, loss, self.consecutive_bad, keys)
        if self.consecutive_bad >= self.cfg.max_bad_steps:
            raise TrainingAborted(f"{self.consecutive_bad} consecutive non-finite steps (max_bad_steps="
                                  f"{self.cfg.max_bad_steps}): lower the learning rate, check the data "
                                  f"(labels vs alphabet) or use amp_level=O0")

    def _end_of_epoch(self, epoch: int) -> None:
        """Evaluate the hold-out slice (keeping the best as best.ckpt) and/or ``train_eval_dataset``."""
        cfg = self.cfg
        if not (self.dist.is_main and epoch % cfg.eval_interval == 0):
            return
        if self.holdout is not None:
            accuracy = self._evaluate_and_record(epoch, "holdout", self.holdout)
            self._keep_best(epoch, accuracy)
        if cfg.eval_during_train:
            if self.eval_source is None:
                self.eval_source = build_source(cfg.train_eval_dataset, cfg.train_eval_dataset_path, self.charset,
                                                self.source_options, training=False)
            self._evaluate_and_record(epoch, cfg.train_eval_dataset, self.eval_source)

    def _evaluate_and_record(self, epoch: int, name: str, source: WordSource) -> float:
        cfg = self.cfg
        self.net.set_train(False)
        result = evaluate_network(self.net, source, self.charset, cfg.eval_batch_size, cfg.num_parallel_workers)
        self.net.set_train(True)
        log.info("epoch %d: %s accuracy %.4f (%d/%d)", epoch, name, result.accuracy, result.correct, result.total)
        self._record({"epoch": epoch, "images_seen": epoch * self.steps_per_epoch * cfg.batch_size * self.dist.size,
                      "dataset": name, "accuracy": result.accuracy})
        return result.accuracy

    def _keep_best(self, epoch: int, accuracy: float) -> None:
        """Write the network to best.ckpt when the hold-out accuracy beats every earlier epoch (survives resume)."""
        record = self.best_path[:-len(".ckpt")] + ".json"
        best = -1.0
        if os.path.isfile(record):
            with open(record, encoding="utf-8") as f:
                best = float(json.load(f).get("accuracy", -1.0))
        if accuracy <= best:
            log.info("hold-out best stays %.4f (%s)", best, self.best_path)
            return
        meta = self._meta(epoch, 0, 0)
        checkpoint.save(self.net, self.best_path, {k: v for k, v in meta.items()
                                                   if k not in ("step_num", "global_step_num")})
        with open(record, "w", encoding="utf-8") as f:
            json.dump({"epoch": epoch, "accuracy": accuracy}, f)
        log.info("hold-out best %.4f at epoch %d: network written to %s", accuracy, epoch, self.best_path)

    def _record(self, entry: Dict) -> None:
        """Append one JSON line to <save_checkpoint_path>/metrics.jsonl (rank 0) for learning curves."""
        if self.dist.is_main:
            os.makedirs(self.cfg.save_checkpoint_path, exist_ok=True)
            with open(os.path.join(self.cfg.save_checkpoint_path, "metrics.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")


def parameter_checksum(net: nn.Cell) -> float:
    """Sum of |w| over the trainable parameters: equal on every rank of a data-parallel run
    (BatchNorm moving statistics are per rank, as in the reference, and are left out)."""
    return float(sum(np.abs(p.asnumpy()).astype(np.float64).sum() for p in net.trainable_params()))
