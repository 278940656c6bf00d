"""``musicnn_vgg``: the VGG-style baseline that ships with musicnn (Pons & Serra 2019),
pretrained on the Million Song Dataset (``pretrained="msd"``) or MagnaTagATune (``"mtt"``),
ported to torch (weights converted once by ``tools/convert_musicnn.py``; ISC licence).

Input as ``musicnn``: one channel of ``mel_logc`` (16 kHz, hop 256, 96 mels), ``[B, 1, 96,
T]``; the network reads 187 frames (3 s, what its flatten was trained on): the first 187
of a longer input, a shorter one repeated. Five 3x3
convolutions of 128 filters (ReLU, then BatchNorm, eps 1e-3) with max pooling, as the
TensorFlow original (time is its first spatial axis); ``embedding``: ``"pool5"`` (the
256 flattened features under the tagger) or ``"tags"`` (the 50 tag logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from .layers import Backbone
from .musicnn import N_MELS, Musicnn, load_pretrained
from .registry import register_model

EMBEDDINGS = {"pool5": 256, "tags": 50}
#: The original reads exactly 3 s patches: 187 frames.
FRAMES = 187
_POOLS = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
          ((4, 4), (4, 4))]


class MusicnnVGG(Backbone):
    expects_features = Musicnn.expects_features
    takes_raw_features = True
    inference_batch_size = 1

    def __init__(self, num_classes: int, in_channels: int = 1, *,
                 pretrained: str | None = "msd", embedding: str = "pool5",
                 dropout: float = 0.5, num_tags: int = 50, keep_tagger: bool = False):
        super().__init__()
        if in_channels != 1:
            raise ParameterError(f"musicnn takes 1 channel (mel_logc), got {in_channels} "
                                 "(musicnn_vgg)")
        if embedding not in EMBEDDINGS:
            raise ParameterError(f"unknown musicnn_vgg embedding {embedding!r} "
                                 f"(known: {', '.join(EMBEDDINGS)})")
        self.embedding = embedding
        self.input_bn = nn.BatchNorm2d(1, eps=1e-3)
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else 128, 128, 3, padding=1)
                                   for i in range(5))
        self.bns = nn.ModuleList(nn.BatchNorm2d(128, eps=1e-3) for _ in range(5))
        self.tagger = nn.Linear(256, num_tags)
        self.num_features = EMBEDDINGS[embedding]
        self.head = nn.Sequential(nn.BatchNorm1d(self.num_features), nn.Dropout(dropout),
                                  nn.Linear(self.num_features, num_classes))
        if pretrained:
            load_pretrained(self, f"vgg_{pretrained}")
        if not keep_tagger and embedding != "tags":  # never read by the head: not shipped
            del self.tagger

    def pool5(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, 96, T]`` -> the 256 flattened features of the last pooling."""
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != N_MELS:
            raise ParameterError(f"musicnn_vgg wants [B, 1, {N_MELS}, T], got "
                                 f"{tuple(x.shape)}")
        T = x.shape[-1]
        if T > FRAMES:  # the network's 3 s: the first 187 frames of a longer slice
            x = x[..., :FRAMES]
        elif T < FRAMES:  # a shorter input repeats itself (as slices of short songs do)
            x = x[..., torch.arange(FRAMES, device=x.device) % T]
        h = self.input_bn(x.transpose(2, 3))  # the original's layout: [B, 1, T, F]
        for conv, bn, (k, s) in zip(self.convs, self.bns, _POOLS, strict=True):
            h = F.max_pool2d(bn(F.relu(conv(h))), k, s)
        return h.permute(0, 2, 3, 1).flatten(1)  # TF flattens [B, T, F, C]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        z = self.pool5(x)
        return self.tagger(z) if self.embedding == "tags" else z

    def forward_tags(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.tagger(self.pool5(x)))


@register_model
def musicnn_vgg(num_classes: int, in_channels: int = 1, **kwargs):
    return MusicnnVGG(num_classes, in_channels, **kwargs)
