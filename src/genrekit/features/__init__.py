"""Spectral features: ``FeatureSpec``, ``compute_features`` and the feature registry."""

from .compute import compute_features
from .registry import FEATURES, list_features, register_feature
from .spec import FEATURE_VERSION, FeatureSpec

__all__ = ["FEATURES", "FEATURE_VERSION", "FeatureSpec", "compute_features", "list_features",
           "register_feature"]
