"""Models: ``create_model(name, num_classes, in_channels, **kwargs)`` and ``list_models()``."""

from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
