"""genrekit: tell the genre of a piece of music, and train that judgement on your own labels.

Public API (imports are lazy so ``import genrekit`` stays fast)::

    from genrekit import load_audio, compute_features, FeatureSpec
    from genrekit import GenreClassifier            # predict with a trained model
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "load_audio": ("genrekit.audio", "load_audio"),
    "compute_features": ("genrekit.features", "compute_features"),
    "FeatureSpec": ("genrekit.features", "FeatureSpec"),
    "list_features": ("genrekit.features", "list_features"),
    "FeatureCache": ("genrekit.features.cache", "FeatureCache"),
    "load_catalog": ("genrekit.data", "load_catalog"),
    "create_model": ("genrekit.models", "create_model"),
    "list_models": ("genrekit.models", "list_models"),
    "GenreClassifier": ("genrekit.inference.classifier", "GenreClassifier"),
    "Prediction": ("genrekit.inference.classifier", "Prediction"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'genrekit' has no attribute {name!r}")
