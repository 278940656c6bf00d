"""Spectral features: ``FeatureSpec``, ``compute_features`` and the feature registry."""

from .registry import FEATURES, compute_features, list_features, register_feature
from .spec import FEATURE_VERSION, FeatureSpec

__all__ = ["FEATURES", "FEATURE_VERSION", "FeatureSpec", "compute_features", "list_features",
           "register_feature"]
