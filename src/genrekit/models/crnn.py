"""``crnn``: conv blocks (pooling mostly frequency) + bidirectional GRU over time +
attention (or mean) pooling."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from .layers import Backbone, ClassifierHead, conv_bn_relu
from .registry import register_model


class CRNN(Backbone):
    def __init__(self, num_classes: int, in_channels: int, widths=(32, 64, 128),
                 hidden: int = 96, pooling: str = "attention", dropout: float = 0.3):
        super().__init__()
        if pooling not in ("attention", "mean"):
            raise ParameterError(f"crnn pooling must be 'attention' or 'mean', got {pooling!r}")
        blocks, c = [], in_channels
        for i, w in enumerate(widths):  # halve time only in the first block
            blocks += [conv_bn_relu(c, w), nn.MaxPool2d((2, 2) if i == 0 else (2, 1),
                                                        ceil_mode=True)]
            c = w
        self.body = nn.Sequential(*blocks)
        self.rnn = nn.GRU(c, hidden, batch_first=True, bidirectional=True)
        self.pooling = pooling
        self.attn = nn.Linear(2 * hidden, 1) if pooling == "attention" else None
        self.head = ClassifierHead(2 * hidden, num_classes, dropout)
        self.num_features = 2 * hidden

    def forward_features(self, x):
        h = self.body(x).amax(dim=2)  # [B, C, T']: strongest band per channel
        seq, _ = self.rnn(h.transpose(1, 2))  # [B, T', 2H]
        if self.attn is None:
            return seq.mean(dim=1)
        w = torch.softmax(self.attn(seq), dim=1)
        return (w * seq).sum(dim=1)


@register_model
def crnn(num_classes: int, in_channels: int, **kwargs):
    return CRNN(num_classes, in_channels, **kwargs)
