"""The VGG-style convolutional feature extractor of CRNN (reference V2 layout).

Parameter names (``conv1.conv.weight``, ``conv1.bn.gamma`` …) match the reference
MindSpore CRNN so that checkpoints move between the two.
"""
from __future__ import annotations

from mindspore import nn
from mindspore.common.initializer import TruncatedNormal


class ConvBNReLU(nn.Cell):
    """Conv2d without bias, BatchNorm (eps 1e-4, momentum 0.9), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, valid: bool = False) -> None:
        super().__init__()
        padding = 0 if valid else kernel_size // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, pad_mode="pad", padding=padding,
                              has_bias=False, weight_init=TruncatedNormal(0.02))
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-4, momentum=0.9)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


class VGG(nn.Cell):
    """[B, 3, 32, W] -> [B, 512, 1, W/4 - 1]: 7 conv blocks, pools 2x2, 2x2, (2,1), (2,1)."""

    out_channels = 512

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(3, 64)
        self.conv2 = ConvBNReLU(64, 128)
        self.conv3 = ConvBNReLU(128, 256)
        self.conv4 = ConvBNReLU(256, 256)
        self.conv5 = ConvBNReLU(256, 512)
        self.conv6 = ConvBNReLU(512, 512)
        self.conv7 = ConvBNReLU(512, 512, kernel_size=2, valid=True)
        self.pool_square = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool_tall = nn.MaxPool2d(kernel_size=(2, 1), stride=(2, 1))

    def construct(self, x):
        x = self.pool_square(self.conv1(x))
        x = self.pool_square(self.conv2(x))
        x = self.pool_tall(self.conv4(self.conv3(x)))
        x = self.pool_tall(self.conv6(self.conv5(x)))
        return self.conv7(x)


def sequence_length(image_width: int) -> int:
    """Number of CTC frames T the backbone emits for an input of this width (T=24 for 100)."""
    return image_width // 4 - 1
