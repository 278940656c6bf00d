"""``musicnn``: Pons & Serra's musically motivated CNN, pretrained on the Million Song
Dataset, ported to torch (weights converted once by ``tools/convert_musicnn.py``; ISC
licence, notice in the weights file and in ``pretrained/NOTICE.md``).

Input: one channel of ``mel_logc`` features (16 kHz, n_fft 512, hop 256, 96 mels,
``log10(1 + 10000 * mel power)``), ``[B, 1, 96, T]``, as the original's 3 s patches
(``configs/musicnn.yaml``). Layout inside follows the TensorFlow original: time is the
first spatial axis. Layers, padding and BatchNorm epsilon (1e-3) are the original's, so the
50 tag probabilities match it (tests/test_musicnn.py).

Two pretrained networks ship: ``pretrained="msd"`` (MSD_musicnn, Million Song Dataset
tags) and ``"mtt"`` (MTT_musicnn, MagnaTagATune tags).

The genre head sits on an embedding of the pretrained network (``embedding``):
``"pool"`` (default: max and mean over time of the 753 front+mid-end features, 1506-d, what
the original's own back-end reads), ``"max_pool"`` (753-d), ``"penultimate"`` (200-d) or
``"tags"`` (the 50 tag logits of the pretrained tagger).

``musicnn_fusion`` reads the same input with several of the networks and puts one head on
their concatenated embeddings.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError
from .layers import Backbone
from .registry import register_model

N_MELS = 96
EMBEDDINGS = {"pool": 2 * 753, "max_pool": 753, "penultimate": 200, "tags": 50}


def _bn2d(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class _Block(nn.Module):
    """conv -> ReLU -> BatchNorm (the original's order)."""

    def __init__(self, conv: nn.Module, channels: int, bn=_bn2d):
        super().__init__()
        self.conv, self.bn = conv, bn(channels)

    def forward(self, x):
        return self.bn(F.relu(self.conv(x)))


def _freq_max(block: _Block, x: torch.Tensor) -> torch.Tensor:
    """``block(x).amax(dim=3)``: a front-end filter's maximum over frequency ``[B, C, T]``.

    In eval mode it is computed on the small side of the maximum: ReLU and an eval-mode
    BatchNorm are monotone per channel (increasing where the BN scale is >= 0, decreasing
    where it is < 0), so ``max_f BN(ReLU(z_f)) = BN(ReLU(s * max_f(s * z_f)))`` with ``s``
    the sign of the scale, and ``s * z`` is the convolution with that channel's weights and
    bias negated (exact in floating point). ReLU and BN then touch ``[B, C, T]`` instead of
    ``[B, C, T, F']``: 0.5-1.3 ms less of ~17 ms per 3 s slice on 2 cores (onnxruntime), the same
    numbers (max selects an element; rounding is monotone too; tests/test_musicnn.py).
    Training keeps the literal order: batch statistics are over every frequency.

    The maximum is a ``MaxPool`` over the whole frequency axis; in an ONNX export the
    filters are zero-padded to a multiple of 16 channels (sliced off after the maximum).
    onnxruntime runs these convolutions in its channel-blocked NCHWc layout (blocks of 16)
    and pads them itself; with the padding in the graph the ``MaxPool`` stays in that layout
    too, instead of the full ``[B, C, T, F']`` output being reordered to NCHW for a
    ``ReduceMax`` (1-1.4 ms of ~17 ms a slice). The temporal filters (``k x 1``: time
    only) are exported with time as the last axis: the same cost in float, but quantised
    their im2col reads ``k`` contiguous bytes instead of ``k`` bytes 96 apart (~1 ms a slice
    for the ``k = 128`` filter in int8 instead of 8.6). For the int8 graph ``genrekit.quantize``
    moves each ``MaxPool`` before the dequantisation of a quantised output."""
    if block.training:
        return block(x).amax(dim=3)
    conv, bn = block.conv, block.bn
    live, dead = _live_filters(conv.weight)
    s = torch.where(bn.weight[live] < 0, -1.0, 1.0).to(x.dtype)  # sign of the BN scale
    w, b = conv.weight[live] * s[:, None, None, None], conv.bias[live] * s
    channels, width = len(live), int(x.shape[3]) - int(w.shape[3]) + 1
    exporting = torch.onnx.is_in_onnx_export()
    if exporting and channels % 16:
        pad = 16 - channels % 16
        w = torch.cat([w, w.new_zeros(pad, *w.shape[1:])])
        b = torch.cat([b, b.new_zeros(pad)])
    if exporting and w.shape[3] == 1:  # a temporal filter: time last, taps contiguous
        z = F.max_pool2d(F.conv2d(x.transpose(2, 3), w.transpose(2, 3), b), (width, 1))
    else:
        z = F.max_pool2d(F.conv2d(x, w, b), (1, width))
    m = z.flatten(2)[:, :channels] * s[:, None]
    if dead:  # a dead filter's maximum is its bias, the same at every frame
        const = conv.bias[dead][None, :, None].expand(m.shape[0], -1, m.shape[2])
        order = torch.tensor(live + dead, device=m.device).argsort()
        m = torch.cat([m, const], 1)[:, order]
    return F.batch_norm(F.relu(m), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                        False, 0.0, bn.eps)


#: A front-end filter whose largest weight is below this share of its bank's largest is
#: dead (see :func:`_live_filters`).
DEAD_FILTER = 1e-5


def _live_filters(weight: torch.Tensor) -> tuple[list[int], list[int]]:
    """``(live, dead)`` filter indices of a conv weight ``[C, ...]``.

    Most of musicnn's pretrained front-end filters were driven to zero in training: in
    MSD_musicnn 181 of the 204 ``7 x 38`` timbral filters, 190 of the ``7 x 67`` ones and
    48, 44 and 34 of the 51 temporal ones have weights below 2.2e-7 (live ones: >= 9.4e-4,
    3 orders of magnitude apart), and their BatchNorm statistics say their output never
    varied (running variance <= 4e-11). A dead filter's output is its bias to within
    ``|w|_1 * max|x|`` (<= 1.8e-5 * max|x|), so eval mode computes only the live ones and
    fills the dead channels with their biases: ~8x fewer front-end multiply-adds, the
    pretrained tag probabilities still within 1e-5 of the TensorFlow original
    (tests/test_musicnn.py)."""
    peak = weight.detach().abs().flatten(1).amax(1)
    is_live = (peak >= DEAD_FILTER * peak.max()).tolist()
    live = [c for c, ok in enumerate(is_live) if ok]
    return live, [c for c, ok in enumerate(is_live) if not ok]


class Musicnn(Backbone):
    expects_features = {"names": ("mel_logc",), "sr": 16000, "n_fft": 512, "hop_length": 256,
                        "n_mels": N_MELS}
    takes_raw_features = True  # the first BatchNorm is the network's own input normalisation
    # a 30 s clip's slices in one pass: with the dead filters skipped (see _live_filters) the
    # front-end activations are ~5 MB a slice, and onnxruntime on 2 cores ran 10 slices a
    # pass at 3.07 ms a slice, one at a time at 3.53 (bit-identical output; torch: within
    # 3e-7). Before the pruning, at ~45 MB a slice, one slice a pass was faster.
    inference_batch_size = 10

    def __init__(self, num_classes: int, in_channels: int = 1, *, pretrained: str | None = "msd",
                 embedding: str = "pool", dropout: float = 0.5, num_tags: int = 50,
                 keep_tagger: bool = False):
        super().__init__()
        if in_channels != 1:
            raise ParameterError(f"musicnn takes 1 channel (mel_logc), got {in_channels}")
        if embedding not in EMBEDDINGS:
            raise ParameterError(f"unknown musicnn embedding {embedding!r} "
                                 f"(known: {', '.join(EMBEDDINGS)})")
        self.embedding = embedding
        self.input_bn = _bn2d(1)
        self.timbral = nn.ModuleList(
            _Block(nn.Conv2d(1, 204, (7, int(f * N_MELS))), 204) for f in (0.4, 0.7))
        self.temporal = nn.ModuleList(
            _Block(nn.Conv2d(1, 51, (k, 1)), 51) for k in (128, 64, 32))
        bn1d = lambda c: nn.BatchNorm1d(c, eps=1e-3)  # noqa: E731
        self.midend = nn.ModuleList(
            _Block(nn.Conv1d(c, 64, 7), 64, bn1d) for c in (561, 64, 64))
        self.pool_bn = bn1d(1506)
        self.dense = nn.Linear(1506, 200)
        self.dense_bn = bn1d(200)
        self.tagger = nn.Linear(200, num_tags)
        self.drop = nn.Dropout(dropout)
        dim = EMBEDDINGS[embedding]
        self.num_features = dim
        self.head = nn.Sequential(nn.BatchNorm1d(dim), nn.Dropout(dropout),
                                  nn.Linear(dim, num_classes))
        if pretrained:
            self.load_pretrained(pretrained)
        if not keep_tagger and embedding != "tags":  # layers the head never reads: not
            del self.tagger                           # trained, not shipped
            if embedding != "penultimate":
                del self.pool_bn, self.dense, self.dense_bn

    def load_pretrained(self, name: str) -> None:
        load_pretrained(self, name)

    def _midend(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, F, T]`` -> the 753 front- and mid-end features per frame ``[B, 753, T]``."""
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != N_MELS:
            raise ParameterError(f"musicnn needs [B, 1, {N_MELS}, T] mel_logc input, got "
                                 f"{tuple(x.shape)}")
        x = self.input_bn(x.transpose(2, 3))  # [B, 1, T, F] as the original's NHWC
        padded = F.pad(x, (0, 0, 3, 3))
        front = [_freq_max(b, padded) for b in self.timbral]
        for b, k in zip(self.temporal, (128, 64, 32), strict=True):  # TF 'same' padding
            front.append(_freq_max(b, F.pad(x, (0, 0, (k - 1) // 2, k // 2))))
        h = torch.cat(front, 1)  # [B, 561, T]
        feats = [h]
        for i, b in enumerate(self.midend):
            y = b(F.pad(h, (3, 3)))
            h = y if i == 0 else y + h
            feats.append(h)
        return torch.cat(feats, 1)

    def _pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(max_pool [B, 753], mean_pool [B, 753], pool [B, 1506])``; ``pool`` interleaves
        max and mean as the original's flatten of ``[max, mean]`` does."""
        m = self._midend(x)
        mx, mean = m.amax(dim=2), m.mean(dim=2)
        return mx, mean, torch.stack([mx, mean], dim=2).flatten(1)

    def _penultimate(self, pool: torch.Tensor) -> torch.Tensor:
        return self.dense_bn(F.relu(self.dense(self.drop(self.pool_bn(pool)))))

    def embeddings(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The original's named outputs: ``max_pool``, ``mean_pool``, ``penultimate``,
        ``tags`` (logits of the pretrained tagger); needs ``keep_tagger=True``."""
        if not hasattr(self, "tagger"):
            raise ParameterError("built without the tagger layers: use keep_tagger=True")
        mx, mean, pool = self._pooled(x)
        pen = self._penultimate(pool)
        return {"max_pool": mx, "mean_pool": mean, "pool": pool, "penultimate": pen,
                "tags": self.tagger(self.drop(pen))}

    def forward_tags(self, x: torch.Tensor) -> torch.Tensor:
        """Tag probabilities of the pretrained tagger (sigmoid), ``[B, num_tags]``."""
        return torch.sigmoid(self.embeddings(x)["tags"])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        mx, _, pool = self._pooled(x)
        if self.embedding == "max_pool":
            return mx
        if self.embedding == "tags":
            return self.tagger(self.drop(self._penultimate(pool)))
        return self._penultimate(pool) if self.embedding == "penultimate" else pool


def load_weights(name: str) -> dict[str, torch.Tensor]:
    """The converted weights shipped in ``genrekit/pretrained/musicnn_<name>.npz``."""
    ref = resources.files("genrekit.pretrained") / f"musicnn_{name}.npz"
    if not ref.is_file():
        raise ParameterError(f"no pretrained musicnn weights {name!r} "
                             "(shipped: msd, mtt, vgg_msd, vgg_mtt)")
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        return {k: torch.from_numpy(z[k].copy()) for k in z.files
                if k not in ("tags", "licence")}


def load_pretrained(module: nn.Module, name: str) -> None:
    """Load ``musicnn_<name>.npz`` into ``module``: every tensor but the new head's must fit
    (a typed error naming what does not)."""
    missing, unexpected = module.load_state_dict(load_weights(name), strict=False)
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise ParameterError(f"musicnn weights {name!r} do not fit (missing {missing[:3]},"
                             f" unexpected {unexpected[:3]})")


def tag_names(name: str = "msd") -> list[str]:
    ref = resources.files("genrekit.pretrained") / f"musicnn_{name}.npz"
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        return [str(t) for t in z["tags"]]


@register_model
def musicnn(num_classes: int, in_channels: int = 1, **kwargs):
    return Musicnn(num_classes, in_channels, **kwargs)


class MusicnnFusion(Backbone):
    """Several pretrained musicnn networks on the same input; one head on their
    concatenated embeddings (``embedding`` per network, in the order of ``nets``)."""

    expects_features = Musicnn.expects_features
    takes_raw_features = True
    inference_batch_size = 1

    def __init__(self, num_classes: int, in_channels: int = 1, *,
                 nets: tuple[str, ...] | list[str] = ("msd", "mtt"),
                 embedding: str | tuple[str, ...] | list[str] = "pool", dropout: float = 0.5,
                 pretrained: bool | None = True):
        super().__init__()
        if len(nets) < 2:
            raise ParameterError(f"musicnn_fusion needs at least 2 networks, got {list(nets)}")
        embs = [embedding] * len(nets) if isinstance(embedding, str) else list(embedding)
        if len(embs) != len(nets):
            raise ParameterError(f"one embedding per network: {list(nets)} vs {embs}")
        self.nets = nn.ModuleList(
            Musicnn(num_classes, in_channels, pretrained=n if pretrained else None,
                    embedding=e, dropout=dropout) for n, e in zip(nets, embs, strict=True))
        for net in self.nets:  # one head, on the concatenation
            del net.head
        dim = sum(EMBEDDINGS[e] for e in embs)
        self.num_features = dim
        self.head = nn.Sequential(nn.BatchNorm1d(dim), nn.Dropout(dropout),
                                  nn.Linear(dim, num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net.forward_features(x) for net in self.nets], 1)


@register_model
def musicnn_fusion(num_classes: int, in_channels: int = 1, **kwargs):
    return MusicnnFusion(num_classes, in_channels, **kwargs)
