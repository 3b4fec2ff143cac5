"""CTC loss over log-softmax, blank = last class, averaged per sample."""
from __future__ import annotations

from mindspore import nn, ops
import mindspore.common.dtype as mstype


class CTCLoss(nn.Cell):
    """Mean over the valid samples of the per-sample CTC negative log-likelihood.

    ``weight`` (1 for a real sample, 0 for a placeholder standing in for an unreadable
    image) masks samples out. A sample whose label cannot be aligned to the frames
    (infinite loss) is dropped from the mean with a zero gradient: MindSpore's CPU
    kernel leaves such losses at inf even with ``zero_infinity=True``.
    """

    def __init__(self, blank: int) -> None:
        super().__init__()
        self.blank = blank

    def construct(self, logits, targets, target_lengths, weight):
        log_probs = ops.log_softmax(ops.cast(logits, mstype.float32), -1)
        t, b, _ = log_probs.shape
        input_lengths = ops.fill(mstype.int32, (b,), t)
        per_sample, _ = ops.ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                     blank=self.blank, reduction="none", zero_infinity=True)
        finite = ops.isfinite(per_sample)
        per_sample = ops.select(finite, per_sample, ops.zeros_like(per_sample))
        weight = ops.cast(weight, mstype.float32) * ops.cast(finite, mstype.float32)
        return ops.reduce_sum(per_sample * weight) / ops.maximum(ops.reduce_sum(weight), 1.0)


class WithCTCLoss(nn.Cell):
    """network + CTC loss; parameter names stay those of the bare network."""

    def __init__(self, network: nn.Cell, loss: CTCLoss) -> None:
        super().__init__(auto_prefix=False)
        self.network = network
        self.loss = loss

    def construct(self, images, targets, target_lengths, weight):
        return self.loss(self.network(images), targets, target_lengths, weight)
