"""Ensembles: several checkpoints (possibly with different feature stacks or slicing)
whose probabilities are averaged with weights (``aggregate.weighted_mean``, the one rule).
An ensemble file is plain data like a checkpoint (``kind: "ensemble"``, the members' slim
checkpoints, ``weights``, ``classes``) and loads through ``load_classifier`` wherever a
checkpoint does:

- members that read the same features on the same slice grid: one ``GenreClassifier``
  whose runner is an ``EnsembleNet`` (slice probabilities averaged; one feature pass; one
  ONNX graph on export);
- otherwise an :class:`EnsembleClassifier`, a runner over the member classifiers behind
  the same ``SongClassifier`` surface (song scores averaged), like Demucs' ``BagOfModels``.

:func:`fit_ensemble` fits the weights on labelled (validation) songs.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .aggregate import weighted_mean
from .base import ClassifierBase, SongClassifier
from .prediction import Prediction, make_prediction


def make_ensemble(checkpoints, weights=None) -> dict:
    """An ensemble dict from loaded checkpoints; all must have the same set of classes."""
    from ..checkpoint import slim_checkpoint

    if len(checkpoints) < 2:
        raise ParameterError("an ensemble needs at least 2 checkpoints")
    classes = sorted(checkpoints[0]["classes"])
    for ck in checkpoints[1:]:
        if sorted(ck["classes"]) != classes:
            raise ParameterError(f"members predict different classes: {sorted(ck['classes'])} "
                                 f"vs {classes}")
    w = np.ones(len(checkpoints)) if weights is None else np.asarray(weights, np.float64)
    if len(w) != len(checkpoints) or np.any(w < 0) or w.sum() <= 0:
        raise ParameterError(f"need one non-negative weight per member, got {list(w)}")
    members = [slim_checkpoint(ck, half=False) for ck in checkpoints]  # weights as given
    name = "ensemble(" + ",".join(m["model"]["name"] for m in members) + ")"
    return {"kind": "ensemble", "classes": classes, "weights": (w / w.sum()).tolist(),
            "members": members, "metrics": {},
            "model": {"name": name, "kwargs": {}, "inference_batch_size": min(
                m["model"].get("inference_batch_size", 16) for m in members)}}


def same_grid(ens: dict) -> bool:
    """Do all members read the same features on the same slice grid?"""
    m0 = ens["members"][0]
    return all(m["features"] == m0["features"] and m["slices"] == m0["slices"]
               for m in ens["members"][1:])


class EnsembleClassifier(ClassifierBase):
    """Members with different features or slicing: song scores are the weighted mean of
    the members' song scores; the timeline is the first member's. A song's "features" are
    the list of its members' features."""

    def __init__(self, ens: dict, members: list[SongClassifier], *, source="<ensemble>"):
        """``members``: the member classifiers, in the order of ``ens["members"]``."""
        self.source = source
        self.classes_ = list(ens["classes"])
        self.weights = np.asarray(ens["weights"], np.float64)
        self.members = list(members)
        self.perms = [[m.classes_.index(c) for c in self.classes_] for m in self.members]
        first = self.members[0]
        self.spec, self.slices, self.rule = first.spec, first.slices, first.rule
        self.max_duration = first.max_duration
        self.model_name = "ensemble(" + ",".join(m.model_name for m in self.members) + ")"
        self.metrics = ens.get("metrics", {})
        # members with different inputs have no common embedding: no novelty, no unknown
        self.open_set, self.open_set_missing = None, "an ensemble has no novelty model"
        self.novelty_threshold = self.min_confidence = self.set_level = None

    def _combine(self, preds: list[Prediction], top_k: int) -> Prediction:
        s = weighted_mean([np.array([p.scores[c] for c in m.classes_])
                           for p, m in zip(preds, self.members, strict=True)],
                          self.weights, self.perms)
        first = preds[0]
        return make_prediction(s, self.classes_, top_k=top_k, timeline=first.timeline,
                               duration=first.duration, rule=first.aggregate, path=first.path)

    def features(self, path_or_array, sr=None) -> list[np.ndarray]:
        return [m.features(path_or_array, sr) for m in self.members]

    def predict_features(self, songs, *, top_k: int = 3, batch_size=None) -> list[Prediction]:
        per_member = [m.predict_features([(p, X[i]) for p, X in songs], top_k=top_k,
                                         batch_size=batch_size)
                      for i, m in enumerate(self.members)]
        return [self._combine(list(preds), top_k) for preds in zip(*per_member, strict=True)]

    def predict_many(self, paths, *, top_k: int = 3, jobs: int = 1, progress=None, **kw):
        """Each member decodes and predicts at its own rate and features; results are
        combined per song in input order."""
        paths = [str(p) for p in paths]
        runs = [m.predict_many(paths, top_k=top_k, jobs=jobs, **kw) for m in self.members]
        for rows in zip(*runs, strict=True):
            p = rows[0][0]
            err = next((e for _, _, e in rows if e), None)
            if progress:
                progress(p, "failed" if err else "done")
            yield (p, None, err) if err else (p, self._combine([r[1] for r in rows], top_k),
                                              None)


def fit_weights(song_scores: list[np.ndarray], labels: np.ndarray, *, steps: int = 11):
    """Weights (a grid over the simplex for 2-3 members, else equal) maximising validation
    accuracy, ties to the lowest NLL. ``song_scores``: per member ``[S, K]``."""
    import itertools

    n = len(song_scores)
    if n > 3:
        return np.full(n, 1.0 / n)
    grid = np.linspace(0, 1, steps)
    best, best_key = None, None
    for w in itertools.product(grid, repeat=n):
        if abs(sum(w) - 1) > 1e-9:
            continue
        s = sum(wi * si for wi, si in zip(w, song_scores, strict=True))
        acc = (s.argmax(1) == labels).mean()
        nll = -np.log(np.clip(s[np.arange(len(labels)), labels], 1e-9, 1)).mean()
        key = (acc, -nll)
        if best_key is None or key > best_key:
            best, best_key = np.array(w), key
    return best


def fit_ensemble(checkpoints: list[dict], classifiers: list[SongClassifier], tracks, *,
                 jobs: int = 1) -> dict:
    """An ensemble of ``checkpoints`` (``classifiers``: the same models loaded) whose weights
    maximise the accuracy on the labelled ``tracks`` (validation songs, never training
    ones), over the songs every member could read; the fit is recorded in its ``metrics``."""
    classes = make_ensemble(checkpoints)["classes"]  # validates the members
    tracks = [t for t in tracks if t.label in classes]
    preds = []
    for clf in classifiers:
        preds.append({q: pr for q, pr, err in clf.predict_many([t.path for t in tracks],
                                                               jobs=jobs) if not err})
    common = [str(t.path) for t in tracks if all(str(t.path) in pr for pr in preds)]
    if not common:
        raise ParameterError("no labelled song that every member could read to fit the "
                             "ensemble weights on")
    labels = np.array([classes.index(t.label) for t in tracks if str(t.path) in common])
    scores = [np.array([[pr[q].scores[c] for c in classes] for q in common]) for pr in preds]
    out = make_ensemble(checkpoints, fit_weights(scores, labels))
    out["metrics"] = {"weights_fitted_on_songs": len(common),
                      "member_accuracy": [float((s.argmax(1) == labels).mean())
                                          for s in scores]}
    return out
