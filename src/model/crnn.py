"""CRNN = backbone (VGG) -> sequence (two BiLSTM blocks) -> CTC head (the last block's Dense)."""
from __future__ import annotations

from mindspore import nn, ops

from ..errors import UsageError
from .backbone import VGG
from .sequence import BidirectionalLSTM


class CRNN(nn.Cell):
    """Input [B, 3, 32, W] (BGR, (x-127.5)/127.5); output per-frame logits [T, B, num_classes]."""

    def __init__(self, num_classes: int, hidden_size: int = 256) -> None:
        super().__init__()
        self.vgg = VGG()
        self.rnn = nn.SequentialCell([
            BidirectionalLSTM(VGG.out_channels, hidden_size, hidden_size),
            BidirectionalLSTM(hidden_size, hidden_size, num_classes),
        ])

    def construct(self, x):
        x = self.vgg(x)                   # [B, C, 1, T]
        x = ops.squeeze(x, 2)             # [B, C, T]
        x = ops.transpose(x, (2, 0, 1))   # [T, B, C]
        return self.rnn(x)


def build_crnn(num_classes: int, hidden_size: int = 256, model_version: str = "V2") -> CRNN:
    """The network for ``model_version`` (only V2, the reference default, is provided)."""
    if model_version != "V2":
        raise UsageError(f"unsupported model_version {model_version!r}")
    return CRNN(num_classes, hidden_size)


def pack_lstm_weights_for(net: nn.Cell, target: str) -> int:
    """Make every LSTM of ``net`` pack its weights as ``target``'s kernel reads them; return how many.

    MindSpore's ``nn.LSTM`` decides when it is built, from the device then set, how it hands its
    weights to the LSTM kernel: on GPU (cuDNN) the two biases one after the other, on CPU their sum.
    An exported MINDIR keeps that layout, so a model exported on a GPU computes wrong outputs on a
    CPU without any error. Export therefore packs for the device the model will run on.
    """
    if target not in ("CPU", "GPU"):
        raise UsageError(f"LSTM weights can be packed for CPU or GPU, not {target!r}")
    cells = [cell for _, cell in net.cells_and_names() if hasattr(cell, "is_gpu")]  # MindSpore's CPU/GPU LSTM
    for cell in cells:
        cell.is_gpu = target == "GPU"
    return len(cells)


def count_parameters(net: nn.Cell) -> int:
    return sum(int(p.size) for p in net.trainable_params())
