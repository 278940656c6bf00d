"""``cnn``: a small plain CNN (conv-BN-ReLU-pool blocks), quick to train on a CPU."""

from __future__ import annotations

from torch import nn

from .layers import AvgMaxPool, Backbone, ClassifierHead, conv_bn_relu
from .registry import register_model


class PlainCNN(Backbone):
    def __init__(self, num_classes: int, in_channels: int, widths=(32, 64, 128, 128),
                 dropout: float = 0.3, norm: str = "batch"):
        super().__init__()
        blocks, c = [], in_channels
        for w in widths:
            blocks += [conv_bn_relu(c, w, norm=norm), nn.MaxPool2d(2, ceil_mode=True)]
            c = w
        self.body = nn.Sequential(*blocks)
        self.pool = AvgMaxPool()
        self.head = ClassifierHead(2 * c, num_classes, dropout)
        self.num_features = 2 * c

    def forward_features(self, x):
        return self.pool(self.body(x))


@register_model
def cnn(num_classes: int, in_channels: int, **kwargs):
    return PlainCNN(num_classes, in_channels, **kwargs)
