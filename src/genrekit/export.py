"""Export a checkpoint to ONNX: standardisation + model + softmax in one graph, dynamic
batch and time axes, the label list / feature spec / slicing in the model's metadata."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from . import __version__
from .fileio import atomic_path


def _inference_net(model, mean, std, temperature: float = 1.0):
    import torch
    from torch import nn

    class InferenceNet(nn.Module):
        """``x [B, C, F, T]`` raw features -> class probabilities ``[B, K]``."""

        def __init__(self):
            super().__init__()
            self.model = model
            self.register_buffer("mean", torch.as_tensor(mean).float()[None, :, None, None])
            self.register_buffer("std", torch.as_tensor(std).float()[None, :, None, None])

        def forward(self, x):
            return torch.softmax(self.model((x - self.mean) / self.std) / temperature, dim=1)

    return InferenceNet().eval()


def _net_of(ckpt, source):
    from .checkpoint import build_model

    return _inference_net(build_model(ckpt, source).float(), ckpt["normalization"]["mean"],
                          ckpt["normalization"]["std"], float(ckpt.get("temperature", 1.0)))


def _ensemble_net(ens, source):
    """One graph for an ensemble whose members share features and slicing: the weighted
    mean of their slice probabilities (as ``WeightedRunner``), first member's class order."""
    import torch
    from torch import nn

    from .errors import ParameterError
    from .inference.ensemble import same_grid

    if not same_grid(ens):
        raise ParameterError("this ensemble's members use different features or slicing: one "
                             "ONNX graph cannot take their inputs; export the members one by "
                             "one")
    m0 = ens["members"][0]
    nets = [_net_of(m, source) for m in ens["members"]]
    perms = [[m["classes"].index(c) for c in m0["classes"]] for m in ens["members"]]

    class EnsembleNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.nets = nn.ModuleList(nets)
            self.register_buffer("w", torch.tensor(ens["weights"], dtype=torch.float32))
            self.perms = [torch.tensor(p) for p in perms]

        def forward(self, x):
            return sum(self.w[i] * net(x)[:, self.perms[i]] for i, net in enumerate(self.nets))

    meta = {**m0, "model": ens["model"], "metrics": ens.get("metrics", {})}
    return EnsembleNet().eval(), meta


def export_onnx(checkpoint, out, *, opset: int = 17) -> Path:
    """Write ``out`` (.onnx) atomically from a ``.pt`` checkpoint; returns its path."""
    import onnx
    import torch

    from .checkpoint import load_checkpoint
    from .data.slices import seconds_to_frames
    from .features.spec import FeatureSpec
    from .inference.runners import ONNX_META_KEY

    ckpt = load_checkpoint(checkpoint)
    if ckpt.get("kind") == "ensemble":
        net, ckpt = _ensemble_net(ckpt, checkpoint)
    else:
        net = _net_of(ckpt, checkpoint)
    spec = FeatureSpec.from_dict(ckpt["features"])
    width = seconds_to_frames(ckpt["slices"]["slice_seconds"], spec.sr, spec.hop_length)
    x = torch.zeros(2, spec.n_channels, spec.height, width)
    out = Path(out)
    with atomic_path(out) as tmp:
        with warnings.catch_warnings():  # the TorchScript exporter handles the GRU of crnn
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (x,), str(tmp), input_names=["features"],
                              output_names=["probs"],
                              dynamic_axes={"features": {0: "batch", 3: "time"},
                                            "probs": {0: "batch"}},
                              opset_version=opset, dynamo=False)
        m = onnx.load(str(tmp))
        meta = {"format_version": 1, "genrekit_version": __version__,
                "classes": list(ckpt["classes"]), "features": ckpt["features"],
                "slices": ckpt["slices"], "model": ckpt["model"],
                "metrics": ckpt.get("metrics", {})}
        entry = m.metadata_props.add()
        entry.key, entry.value = ONNX_META_KEY, json.dumps(meta)
        m.producer_name = "genrekit"
        onnx.save(m, str(tmp))
    return out
