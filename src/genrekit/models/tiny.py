"""``tiny``: two conv layers, for tests."""

from __future__ import annotations

from .cnn import PlainCNN
from .registry import register_model


@register_model
def tiny(num_classes: int, in_channels: int, **kwargs):
    kwargs.setdefault("widths", (8, 16))
    kwargs.setdefault("dropout", 0.0)
    return PlainCNN(num_classes, in_channels, **kwargs)
