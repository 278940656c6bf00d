"""Slices of whole songs through a runner, and slice probabilities -> song scores: the one
path from features to song scores that prediction, validation, evaluation and calibration
share (Demucs' ``apply`` is the model)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..data.slices import grid_slices
from .aggregate import aggregate

Runner = Callable[[np.ndarray], np.ndarray]  # slices [N, C, F, T] -> probabilities [N, K]


def run_batched(runner: Runner, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([runner(x[b:b + batch_size]) for b in range(0, len(x), batch_size)])


def song_slice_probs(runner: Runner, feats: list[np.ndarray], *, width: int, hop: int,
                     batch_size: int, tta: int = 0) -> tuple[list[np.ndarray], list[list[int]]]:
    """Slice probabilities ``[N_i, K]`` and slice start frames of every song's grid, slices
    batched across songs. ``tta``: also average over pitch shifts of 1..tta mel bins."""
    probs, starts, _ = song_slice_outputs(runner, feats, width=width, hop=hop,
                                          batch_size=batch_size, tta=tta, embeddings=False)
    return probs, starts


def song_slice_outputs(runner: Runner, feats: list[np.ndarray], *, width: int, hop: int,
                       batch_size: int, tta: int = 0, embeddings: bool = True):
    """``(probabilities [N_i, K], start frames, embeddings [N_i, D] or None)`` per song; the
    embeddings come from the same pass (the unshifted slices) where the runner has them
    (``runner.run``), else None."""
    slices, starts, owner = [], [], []
    for i, X in enumerate(feats):
        S, st = grid_slices(X, width, hop)
        slices.append(S)
        starts.append(st)
        owner += [i] * len(st)
    P, E = slice_batch_outputs(runner, np.concatenate(slices), batch_size=batch_size,
                               tta=tta, embeddings=embeddings)
    owner = np.asarray(owner)
    per_song = [owner == i for i in range(len(feats))]
    return ([P[m] for m in per_song], starts,
            None if E is None else [E[m] for m in per_song])


def slice_batch_outputs(runner: Runner, S: np.ndarray, *, batch_size: int, tta: int = 0,
                        embeddings: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """``(probabilities [N, K], embeddings [N, D] or None)`` of slices ``S [N, C, F, W]``
    through ``runner`` in batches of ``batch_size``; the embeddings from the same pass (the
    unshifted slices) where the runner has them (``runner.run``). ``tta``: probabilities
    averaged over pitch shifts of 1..tta mel bins too."""
    E = None
    if embeddings and getattr(runner, "embeds", False):
        outs = [runner.run(S[b:b + batch_size]) for b in range(0, len(S), batch_size)]
        P = np.concatenate([p for p, _ in outs])
        E = np.concatenate([z for _, z in outs])
    else:
        P = run_batched(runner, S, batch_size)
    if tta:  # the mean over pitch-shifted copies of every slice
        F = S.shape[2]
        shifts = [k for k in range(-tta, tta + 1) if k]
        for k in shifts:
            P = P + run_batched(runner, S[:, :, np.clip(np.arange(F) - k, 0, F - 1), :],
                                batch_size)
        P = P / (1 + len(shifts))
    return P, E


def score_songs(slice_probs: list[np.ndarray], rule: str) -> np.ndarray:
    """Song scores ``[S, K]`` from each song's slice probabilities."""
    return np.stack([aggregate(P, rule) for P in slice_probs])


def songs_through(runner: Runner, feats: list[np.ndarray], *, width: int, hop: int,
                  rule: str, batch_size: int = 64) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(song_scores [S, K], slice_probs list of [N_i, K])`` of songs' features: what
    validation, evaluation and calibration read."""
    slice_probs, _ = song_slice_probs(runner, feats, width=width, hop=hop,
                                      batch_size=batch_size)
    return score_songs(slice_probs, rule), slice_probs
