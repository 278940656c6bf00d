"""Cross-validation that says how a recipe does on artists it has never heard.

Folds are made of whole groups (artists when a catalog has an artist/group column; a song
of unknown artist is its own group) and stratified by label, so no artist, and so no song,
is ever on both sides; the split is repeated over seeds. A recipe is a function
``fit_predict(train_idx, test_idx, seed) -> song scores [len(test_idx), K]``; every recipe
of a comparison runs on the very same folds, so recipes are compared by their paired
difference per seed rather than by overlapping means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ParameterError
from .metrics import summary


def grouped_folds(labels, groups, k: int, seed: int = 0) -> np.ndarray:
    """The fold (0..k-1) of every song: whole groups per fold, label proportions as even
    across folds as the groups allow (greedy, largest and most one-sided groups first, as
    scikit-learn's ``StratifiedGroupKFold``), seeded."""
    labels = np.asarray(labels)
    groups = np.asarray([str(g) for g in groups])
    if k < 2:
        raise ParameterError(f"cross-validation needs k >= 2 folds, got {k}")
    names, gidx = np.unique(groups, return_inverse=True)
    if len(names) < k:
        raise ParameterError(f"{len(names)} groups (artists) cannot make {k} folds")
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(names), len(classes)))
    np.add.at(counts, (gidx, y), 1)
    totals = counts.sum(0)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    order = order[np.argsort(-np.std(counts[order] / totals, axis=1), kind="stable")]
    per_fold = np.zeros((k, len(classes)))
    fold_of_group = np.empty(len(names), int)
    for g in order:
        best, best_key = 0, None
        for f in range(k):
            trial = per_fold.copy()
            trial[f] += counts[g]
            key = (float(np.mean(np.std(trial / totals, axis=0))), trial[f].sum())
            if best_key is None or key < best_key:
                best, best_key = f, key
        per_fold[best] += counts[g]
        fold_of_group[g] = best
    return fold_of_group[gidx]


def cross_validate(fit_predict: Callable, labels, groups, classes: Sequence[str], *,
                   k: int = 5, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                   progress: Callable[[str], None] | None = None) -> dict:
    """Run ``fit_predict`` on every fold of every seed.

    Returns a dict with ``folds`` (one row per seed and fold: accuracy, macro_f1, n),
    ``seeds`` (per seed, the out-of-fold predictions of every song pooled: accuracy and
    macro-F1), ``confusion_matrix`` (pooled over folds and seeds), ``per_class_recall``,
    and ``predictions`` (``[seeds, songs]`` out-of-fold labels, for paired comparisons).
    """
    labels = np.asarray(labels)
    K = len(classes)
    folds, per_seed, preds = [], [], []
    cm = np.zeros((K, K), np.int64)
    for seed in seeds:
        fold = grouped_folds(labels, groups, k, seed)
        pred = np.full(len(labels), -1)
        for f in range(k):
            test, train = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
            scores = np.asarray(fit_predict(train, test, seed))
            pred[test] = scores.argmax(1)
            rep = summary(labels[test], pred[test], list(classes))
            folds.append({"seed": seed, "fold": f, "n": len(test),
                          "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"]})
            if progress:
                progress(f"seed {seed} fold {f}: accuracy {rep['accuracy']:.3f}")
        rep = summary(labels, pred, list(classes))
        cm += np.asarray(rep["confusion_matrix"])
        per_seed.append({"seed": seed, "accuracy": rep["accuracy"],
                         "macro_f1": rep["macro_f1"]})
        preds.append(pred)
    recall = np.divide(np.diag(cm), cm.sum(1), out=np.zeros(K), where=cm.sum(1) > 0)
    return {"folds": folds, "seeds": per_seed, "confusion_matrix": cm.tolist(),
            "per_class_recall": dict(zip(classes, recall.tolist(), strict=True)),
            "predictions": np.stack(preds)}


def mean_std(values) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def fold_summary(result: dict, metric: str) -> tuple[float, float]:
    """Mean and std of ``metric`` over every fold of every seed."""
    return mean_std([r[metric] for r in result["folds"]])


def paired_difference(a: dict, b: dict, metric: str) -> tuple[float, float]:
    """Mean and std over seeds of (a - b) in the seed's pooled out-of-fold ``metric``: two
    recipes compared on exactly the same folds."""
    sa = {r["seed"]: r[metric] for r in a["seeds"]}
    sb = {r["seed"]: r[metric] for r in b["seeds"]}
    if sa.keys() != sb.keys():
        raise ParameterError("paired differences need the same seeds for both recipes")
    return mean_std([sa[s] - sb[s] for s in sorted(sa)])
