"""The inference contract as one torch module: raw features ``x [B, C, F, T]`` ->
standardise (the training set's per-channel mean/std) -> model -> logits / temperature ->
softmax -> probabilities ``[B, K]``.

Prediction (``runners.TorchRunner``), validation during training, evaluation, calibration
and ONNX export (``genrekit.export``) all run this module, so they cannot drift apart. An
ensemble of members that read the same features on the same slice grid is one
``EnsembleNet`` over their ``InferenceNet``s.
"""

from __future__ import annotations

import torch
from torch import nn

from .aggregate import weighted_mean


class InferenceNet(nn.Module):
    """``x [B, C, F, T]`` raw features -> class probabilities ``[B, K]``."""

    def __init__(self, model: nn.Module, mean, std, temperature: float = 1.0):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(mean).float().reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std).float().reshape(1, -1, 1, 1))
        self.temperature = float(temperature)  # a constant of the graph (see calibrate)

    @classmethod
    def from_checkpoint(cls, ckpt: dict, source="<checkpoint>", *,
                        temperature: float | None = None) -> InferenceNet:
        """The net of a loaded checkpoint (eval mode); ``temperature`` overrides its own."""
        from ..checkpoint import build_model

        norm = ckpt["normalization"]
        t = float(ckpt.get("temperature", 1.0)) if temperature is None else temperature
        return cls(build_model(ckpt, source).float(), norm["mean"], norm["std"], t).eval()

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits (before temperature) of raw features."""
        return self.model(self.standardize(x)).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) / self.temperature, dim=1)

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(probabilities [B, K], embedding [B, D])``: the embedding is what the model's
        head reads (``forward_features``), the input of the novelty model (see
        ``inference.open_set``). The probabilities are exactly ``forward``'s."""
        z = self.model.forward_features(self.standardize(x))
        logits = self.model.forward_head(z).float()
        return torch.softmax(logits / self.temperature, dim=1), z.float()


class WithEmbedding(nn.Module):
    """An ``InferenceNet`` whose forward returns ``(probs, embedding)``: what ONNX export
    writes, so the exported graph carries the embedding too (no second model pass)."""

    def __init__(self, net: InferenceNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.outputs(x)


class EnsembleNet(nn.Module):
    """Members sharing features and slicing: the weighted mean of their slice
    probabilities, in the class order of the first member."""

    def __init__(self, nets: list[InferenceNet], weights, perms):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.register_buffer("weights", torch.tensor(list(weights), dtype=torch.float32))
        self.perms = [torch.as_tensor(p) for p in perms]

    @classmethod
    def from_ensemble(cls, ens: dict, source="<ensemble>") -> EnsembleNet:
        nets = [InferenceNet.from_checkpoint(m, source) for m in ens["members"]]
        return cls(nets, ens["weights"], member_perms(ens)).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return weighted_mean([net(x) for net in self.nets], self.weights, self.perms)


def member_perms(ens: dict) -> list[list[int]]:
    """For each member, the indices that put its classes in the first member's order."""
    order = ens["members"][0]["classes"]
    return [[m["classes"].index(c) for c in order] for m in ens["members"]]
