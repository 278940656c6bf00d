"""Model runners: standardised slices ``x [N, C, F, T]`` (numpy) -> probabilities ``[N, K]``.

``TorchRunner`` runs a checkpoint's model with torch; ``OnnxRunner`` runs an exported
``.onnx`` file (standardisation and softmax inside the graph) with onnxruntime and needs no
torch at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import CheckpointError

ONNX_META_KEY = "genrekit"


class TorchRunner:
    def __init__(self, ckpt: dict, source, device: str = "cpu"):
        import torch

        from ..checkpoint import build_model

        self.device = torch.device(device)
        self.model = build_model(ckpt, source).float().to(self.device)
        norm = ckpt["normalization"]
        self.mean = torch.as_tensor(norm["mean"]).float().to(self.device)
        self.std = torch.as_tensor(norm["std"]).float().to(self.device)
        self.temperature = float(ckpt.get("temperature", 1.0))  # see training.calibrate

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        from ..training.loop import standardize

        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            logits = self.model(standardize(xt, self.mean, self.std))
            return torch.softmax(logits.float() / self.temperature, dim=1).cpu().numpy()


class OnnxRunner:
    device_type = "cpu"

    def __init__(self, path, providers=None):
        import onnxruntime as ort

        try:
            self.session = ort.InferenceSession(str(path), providers=providers or
                                                ["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(path, f"not a readable ONNX model ({str(exc)[:160]})") from None
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(x, np.float32)})[0]


def read_onnx_meta(path, session=None) -> dict:
    """The genrekit metadata (classes, features, slices, model, metrics) of an .onnx file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(path, "model file not found")
    session = session or OnnxRunner(path).session
    props = session.get_modelmeta().custom_metadata_map
    if ONNX_META_KEY not in props:
        raise CheckpointError(path, "ONNX model without genrekit metadata (export it with "
                                    "`genrekit export`)")
    return json.loads(props[ONNX_META_KEY])
