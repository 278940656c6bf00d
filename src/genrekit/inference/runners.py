"""Model runners: raw feature slices ``x [N, C, F, T]`` (numpy) -> probabilities ``[N, K]``.

``TorchRunner`` runs an ``InferenceNet`` (or ``EnsembleNet``) with torch; ``OnnxRunner``
runs the same module exported to ``.onnx`` with onnxruntime and needs no torch at all.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from ..errors import CheckpointError

ONNX_META_KEY = "genrekit"


class TorchRunner:
    """``net`` (the inference contract as one torch module) on ``device``."""

    def __init__(self, net, device="cpu"):
        import torch

        from .net import InferenceNet

        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        #: whether ``run`` also returns slice embeddings (an ensemble has none)
        self.embeds = isinstance(net, InferenceNet)

    @classmethod
    def from_checkpoint(cls, ckpt: dict, source="<checkpoint>", device="cpu", *,
                        temperature: float | None = None) -> TorchRunner:
        """A checkpoint's net, or an ensemble's ``EnsembleNet`` (members on one grid)."""
        from .net import EnsembleNet, InferenceNet

        if ckpt.get("kind") == "ensemble":
            return cls(EnsembleNet.from_ensemble(ckpt, source), device)
        return cls(InferenceNet.from_checkpoint(ckpt, source, temperature=temperature), device)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            return self.net(xt).cpu().numpy()

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(probabilities [N, K], embeddings [N, D] or None)``."""
        import torch

        if not self.embeds:
            return self(x), None
        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            p, z = self.net.outputs(xt)
            return p.cpu().numpy(), z.cpu().numpy()


class OnnxRunner:
    def __init__(self, path, providers=None):
        import onnxruntime as ort

        from ..fileio import not_a_regular_file

        if why := not_a_regular_file(path):
            raise CheckpointError(path, why)

        options = ort.SessionOptions()
        # idle pool threads sleep instead of spinning: a spinning pool held both cores while
        # a long file's decode thread (or --jobs workers) waited for one (4-minute mp3:
        # 0.69 -> 0.56 s, benchmarks/full_songs.py); 30 s clips the same (within noise)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers or
                                                ["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(path, f"not a readable ONNX model ({str(exc)[:160]})") from None
        self.input = self.session.get_inputs()[0].name
        outputs = [o.name for o in self.session.get_outputs()]
        #: a graph exported with its embedding output (``export.export_onnx``)
        self.embeds = "embedding" in outputs
        self._probs_only = outputs[:1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self._probs_only,
                                {self.input: np.ascontiguousarray(x, np.float32)})[0]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(probabilities [N, K], embeddings [N, D] or None)`` in one pass."""
        if not self.embeds:
            return self(x), None
        p, z = self.session.run(["probs", "embedding"],
                                {self.input: np.ascontiguousarray(x, np.float32)})
        return p, z


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
    try:
        meta = json.loads(props[ONNX_META_KEY])
    except ValueError:
        raise CheckpointError(path, "its genrekit metadata is not JSON") from None
    _check_meta(path, meta, session)
    return meta


def _check_meta(path, meta, session) -> None:
    """Refuse metadata that cannot describe this graph (typed, naming what is wrong)."""
    from ..errors import GenrekitError
    from ..features.spec import FeatureSpec

    if not isinstance(meta, dict):
        raise CheckpointError(path, f"its genrekit metadata is a JSON {type(meta).__name__}, "
                                    "not an object")
    missing = [k for k in ("classes", "features", "slices", "model") if k not in meta]
    if missing:
        raise CheckpointError(path, f"its genrekit metadata lacks {', '.join(missing)}")
    classes = meta["classes"]
    if (not isinstance(classes, list) or len(classes) < 2
            or not all(isinstance(c, str) for c in classes)):
        raise CheckpointError(path, "its metadata's classes are not a list of 2+ names")
    if not isinstance(meta["model"], dict) or "name" not in meta["model"]:
        raise CheckpointError(path, "its metadata's model has no name")
    if not isinstance(meta["slices"], dict) or "slice_seconds" not in meta["slices"]:
        raise CheckpointError(path, "its metadata's slices are incomplete")
    try:
        spec = FeatureSpec.from_dict(meta["features"])
    except (GenrekitError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(path, f"its metadata's features are invalid ({exc})") from None
    out_k = session.get_outputs()[0].shape[-1]
    if isinstance(out_k, int) and out_k != len(classes):
        raise CheckpointError(path, f"the graph outputs {out_k} classes but its metadata "
                                    f"names {len(classes)}")
    shape = session.get_inputs()[0].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != spec.n_channels):
        raise CheckpointError(path, f"the graph takes input {shape} but its metadata's "
                                    f"features have {spec.n_channels} channels")


@functools.cache  # a fact of this CPU: /proc/cpuinfo is read once
def int8_ok() -> bool:
    """Whether this CPU runs onnxruntime's u8s8 int8 kernels exactly and fast: x86-64 with
    VNNI (AVX-512 VNNI or AVX-VNNI). Without it the s8 weights can saturate 16-bit sums."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_vnni", "avx_vnni"} & flags)
    except OSError:
        return False
    return False
