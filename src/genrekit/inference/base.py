"""What every classifier offers (:class:`SongClassifier`), and the part of it that is the
same for all (:class:`ClassifierBase`): a single model (``classifier.GenreClassifier``) and
an ensemble of models with different features (``ensemble.EnsembleClassifier``) alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .prediction import Prediction


@runtime_checkable
class SongClassifier(Protocol):
    """What every classifier offers (a single model, or an ensemble of them)."""

    source: str
    classes_: list[str]
    rule: str
    model_name: str
    metrics: dict
    max_duration: float | None

    def features(self, path_or_array, sr: int | None = None): ...

    def predict(self, path_or_array, sr: int | None = None, *,
                top_k: int = 3) -> Prediction: ...

    def predict_proba(self, path_or_array, sr: int | None = None) -> np.ndarray: ...

    def predict_features(self, songs: list[tuple[str, object]], *, top_k: int = 3,
                         batch_size: int | None = None) -> list[Prediction]: ...

    def predict_many(self, paths: Iterable, *, top_k: int = 3, jobs: int = 1,
                     progress: Callable[[str, str], None] | None = None,
                     **kw) -> Iterator[tuple[str, Prediction | None, str | None]]: ...


class ClassifierBase:
    """``predict`` and ``predict_proba`` of any SongClassifier, from its ``features`` and
    ``predict_features``."""

    classes_: list[str]

    def predict(self, path_or_array, sr: int | None = None, *, top_k: int = 3) -> Prediction:
        """The genre of one file (or array at rate ``sr``)."""
        X = self.features(path_or_array, sr)
        path = path_or_array if isinstance(path_or_array, (str, Path)) else None
        return self.predict_features([(path, X)], top_k=top_k)[0]

    def predict_proba(self, path_or_array, sr: int | None = None) -> np.ndarray:
        """Song probabilities ``[K]`` in the order of ``classes_``."""
        p = self.predict(path_or_array, sr)
        return np.array([p.scores[c] for c in self.classes_], dtype=np.float32)
