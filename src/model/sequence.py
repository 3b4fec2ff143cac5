"""Sequence modelling: bidirectional LSTM blocks, each followed by a Dense projection."""
from __future__ import annotations

from mindspore import nn, ops


class BidirectionalLSTM(nn.Cell):
    """[T, B, n_in] -> BiLSTM(n_hidden per direction) -> Dense -> [T, B, n_out].

    The Dense of the last block is the CTC head (per-frame class scores).
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(n_in, n_hidden, bidirectional=True)
        self.embedding = nn.Dense(2 * n_hidden, n_out)

    def construct(self, x):
        recurrent, _ = self.rnn(x)
        t, b, h = recurrent.shape
        out = self.embedding(ops.reshape(recurrent, (t * b, h)))
        return ops.reshape(out, (t, b, -1))
