"""The training step: forward, CTC loss, gradients (loss-scaled under mixed precision), the cross-rank mean,
the finite check, global-norm clipping and the update, in one graph."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import mindspore as ms
import mindspore.common.dtype as mstype
import numpy as np
from mindspore import Tensor, nn, ops

from ..charset import Charset
from .loss import CTCLoss, WithCTCLoss
from .schedule import OptimizerSettings, Schedule, build_optimizer, learning_rates


_unscale = ops.MultitypeFuncGraph("unscale")


@_unscale.register("Tensor", "Tensor")
def _unscale_tensor(inverse_scale, grad):
    """One gradient divided by the loss scale (multiplied by its inverse, in the gradient's dtype)."""
    return grad * ops.cast(inverse_scale, grad.dtype)


class TrainStep(nn.Cell):
    """One optimisation step; returns (loss, finite, loss scale used by this step).

    With loss scaling (mixed precision) the loss is multiplied by ``scale_sense`` before
    differentiation and the gradients are divided by it after the cross-rank reduction;
    a step whose gradients are not finite skips its update, and ``scale_update`` (a
    :class:`mindspore.nn.DynamicLossScaleUpdateCell`) halves the scale then, or doubles it
    after ``scale_window`` finite steps. Without ``scale_update`` the scale stays fixed.
    """

    def __init__(self, net_with_loss: nn.Cell, optimizer: nn.Optimizer, clip_norm: float,
                 scale_update: Optional[nn.Cell] = None, loss_scale: float = 1.0) -> None:
        super().__init__(auto_prefix=False)
        self.network = net_with_loss
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.clip_norm = float(clip_norm)
        self.hyper_map = ops.HyperMap()
        self.scale_update = scale_update
        self.scaled = scale_update is not None or loss_scale != 1.0
        self.scale_sense = ms.Parameter(Tensor(loss_scale, mstype.float32), name="scale_sense", requires_grad=False)
        mode = ms.get_auto_parallel_context("parallel_mode")
        self.reduce = mode in (ms.ParallelMode.DATA_PARALLEL, ms.ParallelMode.HYBRID_PARALLEL)
        self.grad_reducer = nn.DistributedGradReducer(self.weights) if self.reduce else nn.Identity()

    def construct(self, images, targets, target_lengths, weight):
        loss = self.network(images, targets, target_lengths, weight)
        scale = self.scale_sense * 1.0  # the value this step used (scale_update changes the parameter)
        sens = ops.cast(scale, loss.dtype)
        grads = self.grad(self.network, self.weights)(images, targets, target_lengths, weight, sens)
        grads = self.grad_reducer(grads)
        if self.scaled:
            grads = self.hyper_map(ops.partial(_unscale, ops.reciprocal(scale)), grads)
        finite = ms.amp.all_finite(grads)
        if self.scale_update is not None:  # dynamic loss scale: shrink on overflow, grow when stable
            finite = ops.depend(finite, self.scale_update(self.scale_sense, ops.logical_not(finite)))
        if self.clip_norm > 0:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        if finite:
            loss = ops.depend(loss, self.optimizer(grads))
        return loss, finite, scale


#: O1's fp16 cells: the convolutions, matrix products and recurrences, where fp16 pays off on a GPU
FP16_CELLS = (nn.Conv2d, nn.Dense, nn.LSTM)


def mixed_precision(net: nn.Cell, amp_level: str) -> nn.Cell:
    """``net`` with its cells cast for ``amp_level`` (in place; parameter names unchanged).

    O2 and O3 are MindSpore's ``auto_mixed_precision``. O1 is done here, cell by cell:
    MindSpore 2.8's own O1 rewrites the network's source and fails on this one.
    """
    if amp_level == "O1":
        for _, cell in net.cells_and_names():
            if isinstance(cell, FP16_CELLS):
                cell.to_float(mstype.float16)
            elif isinstance(cell, nn.BatchNorm2d):
                cell.to_float(mstype.float32)
        return net
    return ms.amp.auto_mixed_precision(net, amp_level)


@dataclass(frozen=True)
class Precision:
    """Mixed precision: ``amp_level`` O0 (fp32, the reference) to O3, and the loss scale for the fp16 levels
    (``loss_scale_type`` dynamic: halved on overflow, doubled after ``loss_scale_window`` finite steps)."""

    amp_level: str = "O0"
    loss_scale_type: str = "dynamic"
    loss_scale: float = 1024.0
    loss_scale_window: int = 1000

    @classmethod
    def from_config(cls, cfg: Any) -> "Precision":
        return cls(cfg.amp_level, cfg.loss_scale_type, cfg.loss_scale, cfg.loss_scale_window)


def build_train_step(net: nn.Cell, charset: Charset, lrs: np.ndarray, optimizer: OptimizerSettings,
                     precision: Precision = Precision(), clip_norm: float = 10.0) -> TrainStep:
    """The optimiser over the per-step learning rates ``lrs``, mixed precision and loss scaling around ``net``.

    O1 runs convolutions, Dense layers and LSTMs in fp16 (:data:`FP16_CELLS`), the rest in fp32;
    O2 casts the network to fp16 but keeps BatchNorm in fp32; O3 casts everything. The CTC
    loss always runs in fp32 (:class:`CTCLoss` casts the logits), the weights stay fp32 (each
    fp16 cell casts them as it runs) and so does the optimiser's update.
    """
    update = build_optimizer(optimizer, net.trainable_params(), lrs)
    scale_update, loss_scale = None, 1.0
    if precision.amp_level != "O0":
        net = mixed_precision(net, precision.amp_level)
        loss_scale = precision.loss_scale
        if precision.loss_scale_type == "dynamic":
            scale_update = nn.DynamicLossScaleUpdateCell(loss_scale_value=precision.loss_scale, scale_factor=2,
                                                         scale_window=precision.loss_scale_window)
    net_with_loss = WithCTCLoss(net, CTCLoss(charset.blank))
    return TrainStep(net_with_loss, update, clip_norm, scale_update, loss_scale)


def train_step_from_config(cfg: Any, net: nn.Cell, charset: Charset, steps_per_epoch: int) -> TrainStep:
    """:func:`build_train_step` with every setting read from ``cfg`` (the trainer, benchmarks and tests)."""
    lrs = learning_rates(Schedule.from_config(cfg), steps_per_epoch)
    return build_train_step(net, charset, lrs, OptimizerSettings.from_config(cfg), Precision.from_config(cfg),
                            cfg.clip_norm)
