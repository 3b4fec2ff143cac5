"""The training loop: logs, checkpoints atomically, resumes exactly, evaluates the hold-out.

The :class:`Trainer` is built from the parts in ``src/train/``: the step (:mod:`~src.train.step`: loss
scaling, cross-rank mean, finite check, clipping), checkpoints and resume (:mod:`~src.train.checkpoints`),
step health (:mod:`~src.train.health`: skipped images, non-finite steps, overflows), run records
(:mod:`~src.train.records`: metrics.jsonl, best.ckpt), the throughput meter and progress bar
(:mod:`~src.train.meter`), signals and stops (:mod:`~src.train.signals`). Fault injection lives with the
tests (``tests/fault/sitecustomize.py``).
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Dict, Optional, Tuple

import numpy as np
from mindspore import Tensor, nn

from .. import checkpoint
from ..charset import Charset
from ..config import Config
from ..data.benchmarks import write_label_list
from ..data.check import label_length_line
from ..data.mix import MixedSource
from ..data.pipeline import SourceOptions, build_source, build_training_source, epoch_indices, make_dataset
from ..data.source import STATUS_OK, WordSource
from ..errors import UsageError
from ..evaluation.metrics import WordAccuracy
from ..evaluation.scoring import evaluate_network
from ..model import build_crnn, sequence_length
from ..spec import ModelSpec, explicit_model_flags, reconcile
from ..utils import LOG_EVERY_SECONDS, format_seconds
from .checkpoints import RunCheckpoints, resume_path
from .distributed import DistInfo
from .health import StepHealth
from .meter import ThroughputMeter, progress
from .records import RunRecords
from .schedule import OptimizerSettings, Schedule, learning_rates
from .signals import StopRequest, TrainingInterrupted, resume_command
from .step import Precision, build_train_step
from .watch import start_heartbeat

log = logging.getLogger("crnn")


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


def load_training_data(cfg: Config, charset: Charset,
                       dist: DistInfo) -> Tuple[WordSource, Optional[WordSource], int]:
    """The training source, its hold-out (written as ``holdout.tsv`` so that any checkpoint can be scored on it
    with eval.py) and the steps per epoch; logs what was read."""
    source, holdout = build_training_source(cfg, charset)
    log.info(source.summary())
    if isinstance(getattr(source, "labels", None), list):  # sources whose labels are known up front
        log.info(label_length_line(source.labels, cfg.max_text_length, sequence_length(cfg.image_width)))
    per_device = len(source) // dist.size
    if per_device < cfg.batch_size:
        raise UsageError(f"batch_size {cfg.batch_size} is larger than the {per_device} training samples "
                         f"per device: lower --batch_size")
    if holdout is not None and dist.is_main:
        write_label_list(holdout, os.path.join(cfg.save_checkpoint_path, "holdout.tsv"))
    return source, holdout, per_device // cfg.batch_size


class Trainer:
    """Runs ``cfg.epoch_size`` epochs with logging, checkpoints, resume and optional evaluation."""

    def __init__(self, cfg: Config, dist: DistInfo) -> None:
        self.cfg = cfg
        self.dist = dist
        self.charset = Charset.from_config(cfg)
        self.source_options = SourceOptions.from_config(cfg)
        self.spec = ModelSpec.from_config(cfg, self.charset.alphabet)
        log.info("model: %s", self.spec.describe())
        self.source, self.holdout, self.steps_per_epoch = load_training_data(cfg, self.charset, dist)
        self.images_per_step = cfg.batch_size * dist.size
        self.global_step = 0
        self.net = build_crnn(self.charset.num_classes, cfg.hidden_size, cfg.model_version)
        self.lrs = learning_rates(Schedule.from_config(cfg), self.steps_per_epoch)
        self.step_cell = build_train_step(self.net, self.charset, self.lrs, OptimizerSettings.from_config(cfg),
                                          Precision.from_config(cfg), cfg.clip_norm)
        self.step_cell.set_train(True)
        self.checkpoints = RunCheckpoints(cfg, dist.rank, self.spec, self.charset, self.net, self.step_cell)
        self.eval_source: Optional[WordSource] = None
        self.health = StepHealth(cfg.max_bad_steps, dynamic_loss_scale=self.step_cell.scale_update is not None)
        self.records = RunRecords(cfg.save_checkpoint_path, dist.is_main, cfg.summary_dir)

    # ---------------------------------------------------------------- loop
    def _source_for_epoch(self, epoch: int) -> WordSource:
        if self.cfg.train_dataset == "rendered" and not self.cfg.train_dataset_path and epoch > 0:
            return build_source("rendered", "", self.charset, self.source_options, training=True, epoch=epoch)
        return self.source

    def train(self) -> Dict:
        with StopRequest() as stop:
            watch = start_heartbeat(self.cfg, self.dist, self.position, self.checkpoints.newest)
            try:
                return self._train(stop)
            finally:  # an interrupt stops every rank: not a lost one (an error is, for the others)
                if watch is not None and sys.exc_info()[0] in (None, TrainingInterrupted):
                    watch.stop()

    def position(self) -> Tuple[int, int]:
        """(epoch, step in that epoch) the run stands at, both 1-based."""
        epoch, step = divmod(self.global_step, self.steps_per_epoch)
        return epoch + (step > 0), step or self.steps_per_epoch

    def _train(self, stop: StopRequest) -> Dict:
        cfg, spe = self.cfg, self.steps_per_epoch
        global_step = self.global_step = self.checkpoints.resume()
        total_steps = cfg.epoch_size * spe
        if cfg.max_steps:
            total_steps = min(total_steps, cfg.max_steps)
        lrs = self.lrs
        if global_step >= total_steps:
            log.info(nothing_to_run(global_step, spe, total_steps, cfg.epoch_size, cfg.max_steps))
            return {"steps": global_step, "loss": float("nan"), "seconds": 0.0, "img_per_s": 0.0,
                    **self.health.counts()}
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
            bar = progress(meter.timed(batches), self.steps_per_epoch, step_in_epoch,
                           f"epoch {epoch + 1}/{cfg.epoch_size}", enabled=self.dist.is_main)
            for batch in bar:
                self.health.count_skips(batch[3])
                if first_step:
                    log.info("first step: compiling the training graph (about 10-60 s on a CPU) ...")
                loss, finite, scale = self.step_cell(*_to_tensors(batch))
                stop.install()  # MindSpore's runtime sets its own SIGINT handler (raising SIGTERM) as it runs graphs
                global_step += 1
                self.global_step = global_step
                step_in_epoch += 1
                meter.step()
                last_loss = float(loss.asnumpy())
                self.health.check(bool(finite.asnumpy()), last_loss, float(scale.asnumpy()), self.loss_scale(),
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
                    self.records.append({"step": global_step, "images_seen": global_step * self.images_per_step,
                                         "loss": last_loss, "lr": float(lrs[global_step - 1]),
                                         "img_per_s": meter.rate(), "data_wait": round(meter.data_wait(), 4)})
                    meter.restart()
                first_step = False
                if (step_in_epoch == spe or global_step % cfg.save_checkpoint_steps == 0
                        or global_step == total_steps or stop.signum is not None):
                    self.checkpoints.save(epoch + 1, step_in_epoch, global_step)
                if stop.signum is not None:
                    self._interrupted(stop.signum, epoch + 1, step_in_epoch)
                if global_step >= total_steps:
                    break
            if step_in_epoch == spe:
                self._end_of_epoch(epoch + 1)
        elapsed = time.time() - start_time
        summary = {"steps": global_step, "loss": last_loss, "seconds": elapsed,
                   "img_per_s": meter.run_images * self.dist.size / max(elapsed, 1e-9), **self.health.counts()}
        log.info("parameter checksum %.10e", parameter_checksum(self.net))
        self.records.plot()
        log.info(done_line(summary, self.loss_scale() if cfg.amp_level != "O0" else None))
        return summary

    def _interrupted(self, signum: int, epoch: int, step: int) -> None:
        self.records.close()
        where = self.checkpoints.path(epoch, step)
        saved = f"checkpoint {where}" if self.cfg.save_checkpoint else "no checkpoint (save_checkpoint=False)"
        raise TrainingInterrupted(f"interrupted at epoch {epoch} step {step} ({saved}); resume with: "
                                  f"{resume_command(sys.argv)}", 128 + signum)

    def loss_scale(self) -> float:
        return float(self.step_cell.scale_sense.asnumpy())

    def _end_of_epoch(self, epoch: int) -> None:
        """Evaluate the hold-out slice (keeping the best as best.ckpt) and/or ``train_eval_dataset``."""
        cfg = self.cfg
        if not (self.dist.is_main and epoch % cfg.eval_interval == 0):
            return
        if self.holdout is not None:
            result = self._evaluate_and_record(epoch, "holdout", self.holdout)
            meta = {k: v for k, v in self.checkpoints.meta(epoch, 0, 0).items()
                    if k not in ("step_num", "global_step_num")}
            scores = {"accuracy": result.accuracy, "char_accuracy": result.char_accuracy}
            self.records.record_holdout_scores(epoch, result.per_crop())
            if cfg.holdout_pick == "latest_not_worse":
                self.records.keep_latest_not_worse(self.net, epoch, scores, meta, cfg.holdout_metric)
            else:
                self.records.keep_best(self.net, epoch, scores, meta, cfg.holdout_metric)
        if cfg.eval_during_train:
            if self.eval_source is None:
                self.eval_source = build_source(cfg.train_eval_dataset, cfg.train_eval_dataset_path, self.charset,
                                                self.source_options, training=False)
            self._evaluate_and_record(epoch, cfg.train_eval_dataset, self.eval_source)

    def _evaluate_and_record(self, epoch: int, name: str, source: WordSource) -> WordAccuracy:
        cfg = self.cfg
        self.net.set_train(False)
        result = evaluate_network(self.net, source, self.charset, cfg.eval_batch_size, cfg.num_parallel_workers)
        self.net.set_train(True)
        log.info("epoch %d: %s accuracy %.4f (%d/%d), 1-NED %.4f", epoch, name, result.accuracy, result.correct,
                 result.total, result.char_accuracy)
        self.records.append({"epoch": epoch, "images_seen": epoch * self.steps_per_epoch * self.images_per_step,
                             "dataset": name, "accuracy": result.accuracy, "char_accuracy": result.char_accuracy})
        return result


def parameter_checksum(net: nn.Cell) -> float:
    """Sum of |w| over the trainable parameters: equal on every rank of a data-parallel run
    (BatchNorm moving statistics are per rank, as in the reference, and are left out)."""
    return float(sum(np.abs(p.asnumpy()).astype(np.float64).sum() for p in net.trainable_params()))


def nothing_to_run(global_step: int, steps_per_epoch: int, total_steps: int, epoch_size: int, max_steps: int) -> str:
    """Where a resumed run stands when it has already reached its end."""
    epoch, step = divmod(global_step, steps_per_epoch)
    return (f"nothing to run: the run already stands at global step {global_step} (epoch {epoch + (step > 0)}, "
            f"step {step or steps_per_epoch}), and it stops at {total_steps} (epoch_size={epoch_size}"
            f"{f', max_steps={max_steps}' if max_steps else ''}); raise --epoch_size or --max_steps to train further")


def done_line(summary: Dict, loss_scale: Optional[float]) -> str:
    """The run's last line: steps, loss, speed, time, skipped images and steps (and the loss scale under amp)."""
    return (f"done: {summary['steps']} steps, final loss {summary['loss']:.4f}, {summary['img_per_s']:.1f} img/s, "
            f"{format_seconds(summary['seconds'])} elapsed; unreadable images {summary['skipped_images'] or 0}; "
            f"non-finite steps skipped {summary['bad_steps']}"
            + (f"; loss-scale overflows {summary['loss_scale_overflows']} (scale now {loss_scale:g})"
               if loss_scale is not None else ""))
