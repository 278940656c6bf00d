"""Export a checkpoint to ONNX: the inference contract (``inference.net.InferenceNet``:
standardisation + model + temperature + softmax) as one graph, dynamic batch and time axes,
the label list / feature spec / slicing in the model's metadata."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from . import __version__
from .fileio import atomic_path


def inference_module(ckpt: dict, source):
    """The module to export and the metadata to write: the checkpoint's ``InferenceNet``,
    or an ensemble's ``EnsembleNet`` (members on one feature stack and slice grid)."""
    from .errors import ParameterError
    from .inference.ensemble import same_grid
    from .inference.net import EnsembleNet, InferenceNet

    if ckpt.get("kind") != "ensemble":
        return InferenceNet.from_checkpoint(ckpt, source), ckpt
    if not same_grid(ckpt):
        raise ParameterError("this ensemble's members use different features or slicing: one "
                             "ONNX graph cannot take their inputs; export the members one by "
                             "one")
    meta = {**ckpt["members"][0], "model": ckpt["model"], "metrics": ckpt.get("metrics", {})}
    return EnsembleNet.from_ensemble(ckpt, source), meta


def export_onnx(checkpoint, out, *, opset: int = 17) -> Path:
    """Write ``out`` (.onnx) atomically from a ``.pt`` checkpoint; returns its path."""
    import onnx
    import torch

    from .checkpoint import load_checkpoint
    from .data.slices import slice_frames
    from .features.spec import FeatureSpec
    from .inference.net import InferenceNet, WithEmbedding
    from .inference.runners import ONNX_META_KEY

    net, ckpt = inference_module(load_checkpoint(checkpoint), checkpoint)
    embeds = isinstance(net, InferenceNet)  # a single model also outputs its embedding
    outputs = ["probs", "embedding"] if embeds else ["probs"]
    spec = FeatureSpec.from_dict(ckpt["features"])
    width, _ = slice_frames(ckpt["slices"], spec)
    x = torch.zeros(2, spec.n_channels, spec.height, width)
    out = Path(out)
    with atomic_path(out) as tmp:
        with warnings.catch_warnings():  # the TorchScript exporter handles the GRU of crnn
            warnings.simplefilter("ignore")
            torch.onnx.export(WithEmbedding(net) if embeds else net, (x,), str(tmp),
                              input_names=["features"], output_names=outputs,
                              dynamic_axes={"features": {0: "batch", 3: "time"},
                                            **{o: {0: "batch"} for o in outputs}},
                              opset_version=opset, dynamo=False)
        m = onnx.load(str(tmp))
        meta = {"format_version": 1, "genrekit_version": __version__,
                "classes": list(ckpt["classes"]), "features": ckpt["features"],
                "slices": ckpt["slices"], "model": ckpt["model"],
                "metrics": ckpt.get("metrics", {})}
        if ckpt.get("open_set"):  # the novelty model and calibration (plain data)
            meta["open_set"] = ckpt["open_set"]
        entry = m.metadata_props.add()
        entry.key, entry.value = ONNX_META_KEY, json.dumps(meta)
        m.producer_name = "genrekit"
        onnx.save(m, str(tmp))
    return out
