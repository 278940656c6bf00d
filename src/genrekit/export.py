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


def export_onnx(checkpoint, out, *, opset: int = 17) -> Path:
    """Write ``out`` (.onnx) atomically from a ``.pt`` checkpoint; returns its path."""
    import onnx
    import torch

    from .checkpoint import build_model, load_checkpoint
    from .data.slices import seconds_to_frames
    from .features.spec import FeatureSpec
    from .inference.runners import ONNX_META_KEY

    ckpt = load_checkpoint(checkpoint)
    spec = FeatureSpec.from_dict(ckpt["features"])
    net = _inference_net(build_model(ckpt, checkpoint).float(), ckpt["normalization"]["mean"],
                         ckpt["normalization"]["std"], float(ckpt.get("temperature", 1.0)))
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
