"""``resnet18`` / ``resnet34``: ResNet (BasicBlock) on ``[B, C, F, T]`` spectrograms."""

from __future__ import annotations

from torch import nn

from .layers import Backbone, ClassifierHead
from .registry import register_model


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x):
        idn = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idn)


class ResNet(Backbone):
    def __init__(self, layers, num_classes: int, in_channels: int, width: int = 64,
                 dropout: float = 0.2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        stages, c = [], width
        for i, n in enumerate(layers):
            w = width * 2 ** i
            stages += [BasicBlock(c, w, 1 if i == 0 else 2)] + [BasicBlock(w, w)
                                                                for _ in range(n - 1)]
            c = w
        self.stages = nn.Sequential(*stages)
        self.head = ClassifierHead(c, num_classes, dropout)
        self.num_features = c

    def forward_features(self, x):
        return self.stages(self.stem(x)).mean(dim=(2, 3))


@register_model
def resnet18(num_classes: int, in_channels: int, **kwargs):
    return ResNet((2, 2, 2, 2), num_classes, in_channels, **kwargs)


@register_model
def resnet34(num_classes: int, in_channels: int, **kwargs):
    return ResNet((3, 4, 6, 3), num_classes, in_channels, **kwargs)
