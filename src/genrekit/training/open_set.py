"""Fitting a model's open-set knowledge (``inference.open_set.OpenSet``) from its training
songs: the novelty components, the held-out reference that turns a raw novelty into a
percentile, the conformal calibration scores, and the default thresholds.

Held-out scores come from folds of whole groups (artists when known): the reference and the
calibration must be scores of songs the fitted parts never saw, or kNN would find each song
itself and the conformal sets would be too small.
"""

from __future__ import annotations

import numpy as np

from ..inference.open_set import OpenSet, component_score, raw_novelty, unit

#: the shipped novelty score, chosen by benchmarks/novelty_cv.py (leave-one-genre-out x
#: artist-grouped folds): relative Mahalanobis + kNN-10 on the song's mean embedding
DEFAULT_SCORE = (("rmaha", {"shrink": 0.5}), ("knn", {"k": 10}))
#: keep this share of held-out known-genre songs by novelty
DEFAULT_NOVELTY_THRESHOLD = 0.95
#: a song whose top probability is below this is "unknown" (chosen by the protocol)
DEFAULT_MIN_CONFIDENCE = 0.25


def _shrunk(S: np.ndarray, shrink: float) -> np.ndarray:
    return (1 - shrink) * S + shrink * np.trace(S) / len(S) * np.eye(len(S))


def _standardizer(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training songs' per-dimension mean and std (1 where a dimension is constant)."""
    sd = Z.std(0)
    return Z.mean(0), np.where(sd > 1e-8, sd, 1.0)


def fit_rmaha(Z: np.ndarray, y: np.ndarray, *, shrink: float = 0.5,
              relative: bool = True) -> dict:
    """Class means and the shared within-class precision; with ``relative`` (Ren et al.
    2021) also the training songs' mean and total precision as the background."""
    shift, scale = _standardizer(Z)
    X = (Z - shift) / scale
    classes = np.unique(y)
    means = np.stack([X[y == c].mean(0) for c in classes])
    R = X - means[np.searchsorted(classes, y)]
    c = {"kind": "rmaha", "shrink": shrink, "shift": shift, "scale": scale, "means": means,
         "precision": np.linalg.inv(_shrunk(R.T @ R / len(R), shrink))}
    if not relative:
        return {**c, "relative": False}
    return {**c, "bg_mean": X.mean(0),
            "bg_precision": np.linalg.inv(_shrunk(np.cov(X.T, bias=True), shrink))}


def fit_knn(Z: np.ndarray, y: np.ndarray, *, k: int = 10) -> dict:
    shift, scale = _standardizer(Z)
    return {"kind": "knn", "k": int(min(k, max(1, len(Z) - 1))), "shift": shift,
            "scale": scale, "bank": unit((Z - shift) / scale)}


FITTERS = {"rmaha": fit_rmaha, "knn": fit_knn}


def fit_components(Z, y, score=DEFAULT_SCORE) -> list[dict]:
    """The novelty components of ``score`` fitted on training songs ``Z [S, D]`` with labels
    ``y``, each with the mean/std of its score over those songs (its common scale)."""
    Z, y = np.asarray(Z, np.float64), np.asarray(y)
    comps = []
    for kind, kw in score:
        c = FITTERS[kind](Z, y, **kw)
        s = component_score(c, Z, exclude_self=True)
        c["z_mean"], c["z_std"] = float(s.mean()), float(max(s.std(), 1e-12))
        comps.append(c)
    return comps


def song_probs(logits_per_song: list[np.ndarray]) -> np.ndarray:
    """Song probabilities: softmax of the mean slice logits (the geometric rule)."""
    z = np.stack([np.asarray(L, np.float64).mean(0) for L in logits_per_song])
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def held_out_scores(emb: list[np.ndarray], labels, groups, num_classes: int, *, C: float,
                    k: int = 5, seed: int = 0, score=DEFAULT_SCORE):
    """Out-of-fold ``(raw novelty [S], song probabilities [S, K])`` of every song: a song
    head and novelty components fitted on the other folds' groups (a song head on the mean
    slice embedding, as ``song_head.fit_song_head``)."""
    from .cv import grouped_folds
    from .song_head import fit_song_head, slice_logits, song_means

    labels = np.asarray(labels)
    Z = song_means(emb)
    n_groups = len(set(map(str, groups)))
    fold = grouped_folds(labels, groups, min(k, n_groups), seed)
    raw = np.zeros(len(labels))
    probs = np.zeros((len(labels), num_classes))
    for f in np.unique(fold):
        te, tr = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        head = fit_song_head([emb[i] for i in tr], labels[tr], num_classes, C=C)
        probs[te] = song_probs([slice_logits(emb[i], head) for i in te])
        raw[te] = raw_novelty(fit_components(Z[tr], labels[tr], score), Z[te])
    return raw, probs


def build_open_set(Z_train, y_train, num_classes: int, *, raw_ref, cal_probs, cal_labels,
                   names=None, score=DEFAULT_SCORE,
                   novelty_threshold: float = DEFAULT_NOVELTY_THRESHOLD,
                   min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> OpenSet:
    """The OpenSet of a model whose head was fitted on ``Z_train`` (song mean embeddings),
    with held-out raw novelty ``raw_ref`` and held-out song probabilities ``cal_probs`` of
    songs labelled ``cal_labels`` (out-of-fold, or a validation split)."""
    cal_probs, cal_labels = np.asarray(cal_probs), np.asarray(cal_labels)
    return OpenSet(components=fit_components(Z_train, y_train, score),
                   reference=np.sort(np.asarray(raw_ref, np.float64)),
                   novelty_threshold=novelty_threshold, min_confidence=min_confidence,
                   cal_scores=1.0 - cal_probs[np.arange(len(cal_labels)), cal_labels],
                   cal_labels=cal_labels, num_classes=num_classes,
                   bank_labels=np.asarray(y_train),
                   bank_names=None if names is None else [str(n) for n in names])


def song_head_open_set(emb: list[np.ndarray], labels, groups, num_classes: int, *, C: float,
                       names=None, seed: int = 0) -> OpenSet:
    """The OpenSet of a song head fitted on all of ``emb`` (the bundled model's kind):
    reference and calibration out-of-fold over groups."""
    from .song_head import song_means

    raw, probs = held_out_scores(emb, labels, groups, num_classes, C=C, seed=seed)
    return build_open_set(song_means(emb), labels, num_classes, raw_ref=raw,
                          cal_probs=probs, cal_labels=labels, names=names)


def checkpoint_open_set(ckpt: dict, train, valid, *, train_groups=None,
                        device="cpu") -> OpenSet:
    """The OpenSet of a trained checkpoint, from its own passes over its training songs
    (``train``: a ``SongSet``; the components and the explanation bank) and held-out songs:
    the validation songs ``valid``, and for a song head also its training songs out of
    fold (grouped by ``train_groups``, artists when known)."""
    from ..data.slices import slice_frames
    from ..features.spec import FeatureSpec
    from ..inference.aggregate import aggregate
    from ..inference.apply import song_slice_outputs
    from ..inference.runners import TorchRunner
    from .song_head import song_means

    K = len(ckpt["classes"])
    runner = TorchRunner.from_checkpoint(ckpt, "<run>", device)
    width, hop = slice_frames(ckpt["slices"], FeatureSpec.from_dict(ckpt["features"]))
    rule = ckpt["slices"].get("aggregate", "confidence")

    def outputs(songs):
        P, _, E = song_slice_outputs(runner, songs.features, width=width, hop=hop,
                                     batch_size=16)
        return np.stack([aggregate(p, rule) for p in P]), E

    _, E_tr = outputs(train)
    Z_tr, y_tr = song_means(E_tr), np.asarray(train.labels)
    raw, probs, labels = [], [], []
    if len(valid):
        P_va, E_va = outputs(valid)
        raw.append(raw_novelty(fit_components(Z_tr, y_tr), song_means(E_va)))
        probs.append(P_va)
        labels.append(np.asarray(valid.labels))
    train_cfg = ckpt.get("config", {}).get("train", {})
    if train_cfg.get("head") == "song" and len(set(y_tr.tolist())) > 1:
        groups = train_groups if train_groups is not None else list(train.paths)
        if len(set(map(str, groups))) >= 2:
            r, p = held_out_scores(E_tr, y_tr, groups, K, C=train_cfg.get("head_c", 0.01))
            raw.append(r)
            probs.append(p)
            labels.append(y_tr)
    return build_open_set(Z_tr, y_tr, K, raw_ref=np.concatenate(raw),
                          cal_probs=np.concatenate(probs), cal_labels=np.concatenate(labels),
                          names=[_song_name(p) for p in train.paths])


def _song_name(path) -> str:
    from pathlib import Path

    return Path(str(path)).name
