"""Ensembles: several checkpoints (possibly with different feature stacks or slicing)
whose song probabilities are averaged with weights. An ensemble file is plain data like a
checkpoint (``kind: "ensemble"``, the members' slim checkpoints, ``weights``, ``classes``)
and loads through ``GenreClassifier.load`` wherever a checkpoint does."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .aggregate import RULES
from .classifier import Prediction


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


class WeightedRunner:
    """Slices -> the weighted mean of the members' slice probabilities, in the class order
    of the first member (members sharing features and slicing)."""

    def __init__(self, ens: dict, source, device: str = "cpu"):
        from .runners import TorchRunner

        self.runners = [TorchRunner(m, source, device) for m in ens["members"]]
        self.device = self.runners[0].device
        order = ens["members"][0]["classes"]
        self.perms = [np.array([m["classes"].index(c) for c in order])
                      for m in ens["members"]]
        self.weights = np.asarray(ens["weights"], np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return sum(w * r(x)[:, perm] for w, r, perm in
                   zip(self.weights, self.runners, self.perms, strict=True))


def load_ensemble(ens: dict, *, source="<ensemble>", device: str = "cpu", **kwargs):
    """A classifier for an ensemble dict: a GenreClassifier over a WeightedRunner when the
    members share features and slicing (slice probabilities averaged, one feature pass),
    else an EnsembleClassifier (song scores averaged)."""
    from .classifier import GenreClassifier

    if same_grid(ens):
        meta = {**ens["members"][0], "model": ens["model"], "metrics": ens.get("metrics", {})}
        return GenreClassifier(meta, WeightedRunner(ens, source, device), source=source,
                               **kwargs)
    return EnsembleClassifier(ens, source=source, device=device, **kwargs)


class EnsembleClassifier:
    """The GenreClassifier surface over members with different features or slicing: song
    scores are the weighted mean of the members' song scores; the timeline is the first
    member's."""

    def __init__(self, ens: dict, *, source="<ensemble>", aggregate: str | None = None,
                 device: str = "cpu", max_duration: float | None = 600.0, tta: int = 0):
        from .classifier import GenreClassifier
        from .runners import TorchRunner

        if aggregate is not None and aggregate not in RULES:
            raise ParameterError(f"unknown aggregation rule {aggregate!r}")
        self.source = source
        self.classes_ = list(ens["classes"])
        self.weights = np.asarray(ens["weights"], np.float64)
        self.members = [GenreClassifier(m, TorchRunner(m, source, device), source=source,
                                        aggregate=aggregate, max_duration=max_duration,
                                        tta=tta)
                        for m in ens["members"]]
        first = self.members[0]
        self.spec, self.slices, self.rule = first.spec, first.slices, first.rule
        self.model_name = "ensemble(" + ",".join(m.model_name for m in self.members) + ")"
        self.metrics = ens.get("metrics", {})

    def _combine(self, preds: list[Prediction], top_k: int) -> Prediction:
        s = sum(w * np.array([p.scores[c] for c in self.classes_])
                for w, p in zip(self.weights, preds, strict=True))
        order = np.argsort(-s)[: max(1, top_k)]
        first = preds[0]
        return Prediction(label=self.classes_[int(s.argmax())],
                          scores={c: float(v) for c, v in zip(self.classes_, s, strict=True)},
                          top_k=[(self.classes_[i], float(s[i])) for i in order],
                          timeline=first.timeline, duration=first.duration,
                          aggregate=first.aggregate, path=first.path)

    def predict(self, path_or_array, sr=None, *, top_k: int = 3) -> Prediction:
        return self._combine([m.predict(path_or_array, sr, top_k=top_k)
                              for m in self.members], top_k)

    def predict_proba(self, path_or_array, sr=None) -> np.ndarray:
        p = self.predict(path_or_array, sr)
        return np.array([p.scores[c] for c in self.classes_], dtype=np.float32)

    def predict_many(self, paths, *, top_k: int = 3, jobs: int = 1, progress=None, **kw):
        paths = [str(p) for p in paths]
        runs = [list(m.predict_many(paths, top_k=top_k, jobs=jobs, **kw))
                for m in self.members]
        for i, p in enumerate(paths):
            rows = [r[i] for r in runs]
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


def is_ensemble(ckpt: dict) -> bool:
    return ckpt.get("kind") == "ensemble"
