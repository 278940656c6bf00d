"""Which labels to check: pure functions of (song embeddings, labels, artists).

- **Label issues** (confident learning, Northcutt et al. 2021): every song's probabilities
  out of fold (a class-balanced logistic head, C=0.01 as the song head, fitted on the other
  folds' artists, so no song judges itself); ranked by self-confidence ``p(given)`` (the
  probability of the genre it was given; cleanlab's default), lowest first, with the genre
  the model would give instead. Measured (benchmarks/audit_sim.py, GTZAN copy, 10 % of the
  labels flipped, 5 seeds): self-confidence put 0.874 of the flipped songs in the top 15 %,
  the normalised margin ``p(given) - max p(other)`` 0.793; C=0.1: 0.830 / 0.689.
- **Near duplicates**: pairs of songs whose mean embeddings are nearly parallel (cosine
  of the standardised embeddings above ``DUPLICATE_COSINE``): the same recording
  re-encoded, cut or offset by a second lands there; different songs rarely do.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .select import fit_head, head_proba, standardize, unit

#: cosine of standardised song embeddings above which two songs are called near duplicates.
#: Measured with the bundled model on the GTZAN copy: 10 clips re-encoded to mp3, cut by
#: 1 s and delayed by 1 s kept cosine 0.9765-0.9995 to their originals (all 30 above);
#: among the 273 labelled songs 9 of 37,128 pairs of different songs exceed 0.975 (5 by
#: one artist), the highest 0.990: a flagged pair is worth a listen, not proof
DUPLICATE_COSINE = 0.975


def out_of_fold_probs(X: np.ndarray, labels: np.ndarray, groups, *, k: int = 5,
                      seed: int = 0, C: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, P [S, K])``: each song's probabilities from a head that never saw its
    artist (folds of whole groups, stratified by label as ``training.cv``)."""
    from ..training.cv import grouped_folds

    classes, y = np.unique(labels, return_inverse=True)
    n_groups = len(set(map(str, groups)))
    if len(classes) < 2 or n_groups < 2:
        raise ParameterError("an audit needs at least two genres and two artists (or songs)")
    fold = grouped_folds(y, groups, min(k, n_groups), seed)
    P = np.full((len(y), len(classes)), 1.0 / len(classes))
    for f in np.unique(fold):
        tr, te = fold != f, fold == f
        head = fit_head(X[tr], y[tr], C=C)
        got = head_proba(head, X[te])
        P[np.ix_(np.flatnonzero(te), head[0])] = got  # classes seen in the training folds
    return classes, P / P.sum(1, keepdims=True)


def label_issues(Z, labels, groups=None, *, k: int = 5, seed: int = 0) -> list[dict]:
    """Every labelled song, most suspicious (lowest ``p_given``) first: ``index``,
    ``given``, ``suggested``, ``p_given``, ``margin`` (``p(given) - max p(other)``;
    negative: another genre is likelier)."""
    labels = np.asarray([str(v) for v in labels])
    groups = list(range(len(labels))) if groups is None else list(groups)
    X = standardize(Z)
    classes, P = out_of_fold_probs(X, labels, groups, k=k, seed=seed)
    y = np.searchsorted(classes, labels)
    p_given = P[np.arange(len(y)), y]
    other = P.copy()
    other[np.arange(len(y)), y] = -1
    margin = p_given - other.max(1)
    order = np.argsort(p_given, kind="stable")
    return [{"index": int(i), "given": str(labels[i]), "suggested": str(classes[other[i].argmax()]),
             "p_given": float(p_given[i]), "margin": float(margin[i])} for i in order]


def near_duplicates(Z, *, threshold: float = DUPLICATE_COSINE, shift=None,
                    scale=None) -> list[tuple[int, int, float]]:
    """``(i, j, cosine)`` of every pair above ``threshold``, most similar first. The
    embeddings are standardised by ``shift``/``scale`` (the model's training songs'
    statistics, steady for any library size) where given, else by the library's own."""
    Z = np.asarray(Z, np.float64)
    X = unit(standardize(Z) if shift is None else (Z - shift) / scale)
    sim = X @ X.T
    i, j = np.triu_indices(len(X), 1)
    keep = sim[i, j] >= threshold
    pairs = sorted(zip(i[keep].tolist(), j[keep].tolist(), sim[i, j][keep].tolist(),
                       strict=True), key=lambda t: -t[2])
    return [(int(a), int(b), float(c)) for a, b, c in pairs]
