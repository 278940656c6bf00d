"""Model registry: ``@register_model`` + ``create_model(name, num_classes, in_channels)``."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ParameterError, UnknownModelError

_MODELS: dict[str, Callable] = {}


def register_model(fn: Callable) -> Callable:
    """Register ``fn(num_classes, in_channels, **kwargs) -> nn.Module`` under its name."""
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    _load_builtin()
    return sorted(_MODELS)


def create_model(name: str, num_classes: int, in_channels: int, **kwargs):
    """Build a registered model. Every model maps ``x [B, C, F, T]`` to logits ``[B, K]``
    for any ``F, T`` large enough, and exposes ``forward_features`` / ``forward_head``."""
    _load_builtin()
    if name not in _MODELS:
        raise UnknownModelError(name, sorted(_MODELS))
    if num_classes < 2:
        raise ParameterError(f"num_classes must be >= 2, got {num_classes}")
    if in_channels < 1:
        raise ParameterError(f"in_channels must be >= 1, got {in_channels}")
    try:
        return _MODELS[name](num_classes=num_classes, in_channels=in_channels, **kwargs)
    except TypeError as exc:
        raise ParameterError(f"bad options for model {name!r}: {exc}") from None


def _load_builtin():
    from . import cnn, crnn, musicnn, musicnn_vgg, resnet, tiny  # noqa: F401  (registration)
