"""Class-balanced sampling and class weights from song counts."""

from __future__ import annotations

import numpy as np


def class_weights(labels: np.ndarray, num_classes: int, *, power: float = 1.0) -> np.ndarray:
    """Inverse-frequency weights from song counts, ``(N / (K * n_k)) ** power``.

    Classes absent from ``labels`` get weight 0. ``power`` 0.5 softens them.
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.zeros(num_classes)
    present = counts > 0
    w[present] = (counts.sum() / (present.sum() * counts[present])) ** power
    return w.astype(np.float32)


def balanced_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` song indices drawn so every class is equally likely (rare genres upsampled)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    p = 1.0 / counts[labels]
    return rng.choice(len(labels), size=n, replace=True, p=p / p.sum())


def uniform_indices(n_songs: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` song indices, each song about equally often (a shuffled repetition)."""
    reps = -(-n // n_songs)
    return np.concatenate([rng.permutation(n_songs) for _ in range(reps)])[:n]
