"""Building blocks shared by the models."""

from __future__ import annotations

import torch
from torch import nn


def norm2d(kind: str, c: int) -> nn.Module:
    """``batch`` (BatchNorm) or ``group`` (GroupNorm: per sample, so a data-parallel run
    on CPUs, where SyncBatchNorm is unavailable, equals a one-process run)."""
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "group":
        return nn.GroupNorm(min(8, c), c)
    from ..errors import ParameterError

    raise ParameterError(f"unknown norm {kind!r} (known: batch, group)")


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1,
                 norm: str = "batch") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         norm2d(norm, c_out), nn.ReLU(inplace=True))


class AvgMaxPool(nn.Module):
    """Global average + max pooling over (F, T): ``[B, C, F, T] -> [B, 2C]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


class ClassifierHead(nn.Module):
    """Dropout + linear: pooled features ``[B, D]`` -> logits ``[B, K]``."""

    def __init__(self, dim: int, num_classes: int, dropout: float = 0.3):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(z))


class Backbone(nn.Module):
    """Base: subclasses define ``forward_features(x) -> [B, D]`` and set ``self.head``."""

    head: nn.Module
    #: slices per forward pass at prediction (stored in checkpoints)
    inference_batch_size = 16

    def forward_head(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
