"""Slice probabilities -> one song label.

Rules (``probs`` is ``[N, K]``, each row a slice's softmax):

- ``"confidence"`` (default; the original solution's): a weighted mean of the slice
  probabilities, each slice weighted by its confidence ``max_k p - 1/K`` (0 for a uniform
  slice), so clear slices outweigh ambiguous ones. If every slice is uniform it falls back
  to the plain mean.
- ``"mean"``: the plain mean.
- ``"vote"``: the fraction of slices whose top class is each class (ties in the vote are
  broken by the mean probability).
- ``"geometric"``: the renormalised geometric mean of the slice probabilities, i.e. the
  softmax of the mean slice logits. For a linear head on slice embeddings this is exactly
  the same linear model on the song's mean embedding (``training.song_head``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

RULES = ("confidence", "mean", "vote", "geometric")


def aggregate(probs: np.ndarray, rule: str = "confidence") -> np.ndarray:
    """Song scores ``[K]`` (sum 1) from slice probabilities ``[N, K]``."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ParameterError(f"probs must be [N>0, K], got shape {probs.shape}")
    K = probs.shape[1]
    if rule == "mean":
        out = probs.mean(axis=0)
    elif rule == "confidence":
        w = probs.max(axis=1) - 1.0 / K
        out = probs.mean(axis=0) if w.sum() <= 1e-12 else (w[:, None] * probs).sum(0) / w.sum()
    elif rule == "geometric":
        logp = np.log(np.clip(probs, 1e-30, 1.0)).mean(axis=0)
        out = np.exp(logp - logp.max())
    elif rule == "vote":
        votes = np.bincount(probs.argmax(axis=1), minlength=K).astype(np.float64)
        out = votes / votes.sum() + 1e-6 * probs.mean(axis=0)  # mean breaks ties
    else:
        raise ParameterError(f"unknown aggregation rule {rule!r} (known: {', '.join(RULES)})")
    return (out / out.sum()).astype(np.float32)


def weighted_mean(member_probs, weights, perms):
    """Several members' probabilities ``[..., K]`` -> their weighted mean, each member's
    classes reordered by its ``perm`` into the ensemble's order. Works on numpy arrays and
    torch tensors alike: the one ensemble rule of slices (``EnsembleNet``, also exported to
    ONNX) and of songs (members with different features or slicing)."""
    out = None
    for w, p, perm in zip(weights, member_probs, perms, strict=True):
        term = w * p[..., perm]
        out = term if out is None else out + term
    return out
