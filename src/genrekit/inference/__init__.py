"""Inference: slice aggregation and the ``GenreClassifier``."""
