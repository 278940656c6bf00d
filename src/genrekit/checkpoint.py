"""Checkpoints as plain data, loadable with ``torch.load(path, weights_only=True)``.

Keys: ``format``, ``format_version``, ``genrekit_version``, ``model`` ({name, kwargs}),
``classes``, ``features`` (FeatureSpec dict), ``slices``, ``normalization`` ({mean, std}
per channel), ``state_dict``, ``metrics``, ``config``; training checkpoints add ``train_state``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CheckpointError, ParameterError

FORMAT = "genrekit-checkpoint"
FORMAT_VERSION = 1
REQUIRED = ("format", "format_version", "model", "classes", "features", "slices",
            "normalization", "state_dict")
ENSEMBLE_REQUIRED = ("format", "format_version", "kind", "classes", "members", "weights")


def save_checkpoint(path, ckpt: dict) -> Path:
    """Write atomically (temp file + fsync + ``os.replace``)."""
    import torch

    from .fileio import atomic_write

    ckpt = {"format": FORMAT, "format_version": FORMAT_VERSION, **ckpt}
    with atomic_write(path) as f:
        torch.save(ckpt, f)
    return Path(path)


def load_checkpoint(path, *, map_location="cpu") -> dict:
    """Load and validate; any problem is a ``CheckpointError`` naming the path."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(path, "checkpoint not found")
    from .fileio import not_a_regular_file

    if why := not_a_regular_file(path):  # a FIFO named .pt would block torch.load
        raise CheckpointError(path, why)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(path, f"not a readable genrekit checkpoint ({msg})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(path, "not a genrekit checkpoint (no genrekit format marker)")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(path, f"format version {ckpt.get('format_version')} is newer "
                                    f"than this genrekit reads ({FORMAT_VERSION}); upgrade")
    required = ENSEMBLE_REQUIRED if ckpt.get("kind") == "ensemble" else REQUIRED
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(path, f"incomplete checkpoint, missing {', '.join(missing)}")
    return ckpt


def build_model(ckpt: dict, path="<checkpoint>"):
    """The model of a loaded checkpoint, weights in, in eval mode."""
    from .features.spec import FeatureSpec
    from .models import create_model

    spec = FeatureSpec.from_dict(ckpt["features"])
    kwargs = ckpt["model"].get("kwargs", {})
    try:
        model = create_model(ckpt["model"]["name"], num_classes=len(ckpt["classes"]),
                             in_channels=spec.n_channels, **kwargs)
    except (TypeError, ParameterError) as exc:  # options this model does not take
        raise CheckpointError(path, f"model options {sorted(kwargs)} do not fit "
                                    f"{ckpt['model']['name']!r} ({exc})") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(path, f"weights do not fit the model ({str(exc)[:160]})") from None
    return model.eval()


def slim_checkpoint(ckpt: dict, *, half: bool = True) -> dict:
    """An inference-only copy: no training state; floating weights in float16 if ``half``
    (they are cast back to float32 when a model is built)."""
    import torch

    out = {k: v for k, v in ckpt.items() if k != "train_state"}
    if half:
        out["state_dict"] = {k: v.half() if torch.is_floating_point(v) else v
                             for k, v in ckpt["state_dict"].items()}
    return out
