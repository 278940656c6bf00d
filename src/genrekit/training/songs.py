"""Songs as feature arrays in memory, read through the feature cache."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError


@dataclass
class SongSet:
    """Features ``[C, F, T]`` (float16) of each song, with integer labels."""

    features: list[np.ndarray]
    labels: np.ndarray
    paths: list[str]

    def __len__(self):
        return len(self.features)


def choose_backend(name: str, device, spec, cache_dir, paths) -> tuple[str, str | None]:
    """``(backend, feature device)`` that fills the training cache for ``paths``.

    ``auto`` is the fast CPU backend, unless training runs on a CUDA ``device``, the torch
    backend computes ``spec`` and the fast backend's cache does not already hold every
    file (a catalog preprocessed earlier is read, not recomputed); then the torch backend
    on that GPU. One backend for the whole run: cached entries of two never mix.
    """
    if name != "auto":
        return name, (str(device) if name == "torch" and device.type == "cuda" else None)
    from ..features.torch_backend_support import torch_supports

    if device.type != "cuda" or not torch_supports(spec):
        return "fast", None
    from ..engine.jobs import lookup
    from ..features.cache import FeatureCache

    cache = FeatureCache.open(cache_dir, spec, backend="fast")
    held = all(lookup(cache, str(p), cache.key_for)[0] is not None for p in paths)
    cache.save_digests()
    return ("fast", None) if held else ("torch", str(device))


def load_songs(tracks, classes: list[str], spec, cache_dir, *, jobs: int = 1, progress=None,
               backend: str | None = None, device=None):
    """Features of ``tracks`` (computing cache misses in ``jobs`` processes, or on
    ``device`` with the torch ``backend``: ``engine.local.preprocess``).

    Returns ``(SongSet, failures)``; failures are ``(path, reason)`` rows, never fatal.
    """
    from ..engine.local import preprocess
    from ..features.cache import FeatureCache

    index = {c: i for i, c in enumerate(classes)}
    paths = [str(t.path) for t in tracks]
    res = preprocess(paths, spec, cache_dir, jobs=jobs, progress=progress, backend=backend,
                     device=device)
    cache = FeatureCache.open(cache_dir, spec, backend=backend)
    feats, labels, kept = [], [], []
    failures = list(res.failures)
    for t, p in zip(tracks, paths, strict=True):
        if p not in res.keys:
            continue
        X = cache.get(res.keys[p])
        if X is None:
            failures.append((p, "cache entry unreadable"))
            continue
        feats.append(X)
        labels.append(index[t.label])
        kept.append(p)
    return SongSet(feats, np.asarray(labels, dtype=np.int64), kept), failures


def channel_stats(songs: SongSet) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over every frame of every song (float64 sums)."""
    if not len(songs):
        raise ParameterError("no training songs to compute normalisation statistics from")
    C = songs.features[0].shape[0]
    s = np.zeros(C)
    s2 = np.zeros(C)
    n = 0
    for X in songs.features:
        X = X.astype(np.float64)
        s += X.sum(axis=(1, 2))
        s2 += (X ** 2).sum(axis=(1, 2))
        n += X.shape[1] * X.shape[2]
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean ** 2, 1e-8))
    return mean.astype(np.float32), std.astype(np.float32)
