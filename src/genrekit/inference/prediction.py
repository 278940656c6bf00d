"""What a prediction is: one song label, its scores, top-k and the per-slice timeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Segment:
    start: float  # seconds
    end: float
    label: str
    scores: dict[str, float]


@dataclass
class Prediction:
    """One song's result: ``label`` (a genre, or ``"unknown"`` when the model abstains),
    ``closest`` (the most probable genre, always one of the model's), ``scores`` (class ->
    probability, sum 1), ``top_k`` [(label, score)], ``timeline`` (one Segment per slice),
    how it was aggregated, ``novelty`` (0..1, higher = less like the training songs; None
    when the model has no novelty model) and ``prediction_set`` (the conformal set of
    genres, when asked for)."""

    label: str
    scores: dict[str, float]
    top_k: list[tuple[str, float]]
    timeline: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    aggregate: str = "confidence"
    path: str | None = None
    closest: str = ""
    novelty: float | None = None
    prediction_set: list[str] | None = None
    set_level: float | None = None
    #: the song's mean slice embedding (what the head and the novelty model read), where the
    #: model outputs one; not written by ``to_dict``
    embedding: np.ndarray | None = field(default=None, repr=False)
    #: the training songs most like this one: [{"song", "genre", "similarity"}] (explain)
    neighbours: list[dict] | None = None

    def __post_init__(self):
        if not self.closest:
            self.closest = self.label

    @property
    def score(self) -> float:
        """The probability of the closest genre (the label's, unless ``unknown``)."""
        return self.scores[self.closest]

    @property
    def unknown(self) -> bool:
        from .open_set import UNKNOWN

        return self.label == UNKNOWN

    def to_dict(self, timeline: bool = True) -> dict:
        d = {"file": self.path, "label": self.label, "closest": self.closest,
             "score": round(self.score, 6),
             "novelty": None if self.novelty is None else round(self.novelty, 4),
             "top_k": [{"label": lbl, "score": round(s, 6)} for lbl, s in self.top_k],
             "scores": {k: round(v, 6) for k, v in self.scores.items()},
             "duration": round(self.duration, 3), "aggregate": self.aggregate}
        if self.prediction_set is not None:
            d["set"] = list(self.prediction_set)
            d["set_level"] = self.set_level
        if self.neighbours is not None:
            d["neighbours"] = [{**n, "similarity": round(n["similarity"], 4)}
                               for n in self.neighbours]
        if timeline:
            d["timeline"] = [{**asdict(s), "scores": {k: round(v, 6) for k, v in
                                                       s.scores.items()}}
                             for s in self.timeline]
        return d


def make_prediction(song: np.ndarray, classes: list[str], *, top_k: int,
                    timeline: list[Segment], duration: float, rule: str,
                    path=None, unknown: bool = False, novelty: float | None = None,
                    prediction_set: list[int] | None = None,
                    set_level: float | None = None,
                    embedding: np.ndarray | None = None,
                    neighbours: list[dict] | None = None) -> Prediction:
    """A Prediction from song scores ``[K]`` in the order of ``classes``; ``unknown``: the
    model abstains (label ``unknown``, the closest genre kept)."""
    from .open_set import UNKNOWN

    order = np.argsort(-song)[: max(1, top_k)]
    closest = classes[int(song.argmax())]
    return Prediction(label=UNKNOWN if unknown else closest, closest=closest,
                      scores={c: float(v) for c, v in zip(classes, song, strict=True)},
                      top_k=[(classes[i], float(song[i])) for i in order],
                      timeline=timeline, duration=duration, aggregate=rule,
                      path=None if path is None else str(path), novelty=novelty,
                      prediction_set=None if prediction_set is None else
                      [classes[i] for i in prediction_set], set_level=set_level,
                      embedding=embedding, neighbours=neighbours)


def slice_timeline(P: np.ndarray, starts, classes: list[str], *, width: int, fps: float,
                   duration: float) -> list[Segment]:
    """One Segment per grid slice (probabilities ``P [N, K]``, start frames ``starts``)."""
    return [Segment(round(s / fps, 3), round(min((s + width) / fps, duration), 3),
                    classes[int(p.argmax())],
                    {c: float(v) for c, v in zip(classes, p, strict=True)})
            for s, p in zip(starts, P, strict=True)]


def timeline_runs(timeline: list[Segment]) -> list[tuple[float, float, str, float, int]]:
    """Consecutive slices with the same label as one run: ``(start, end, label, mean score
    of that label, slices)``; what a person reads of an hour-long mix's 1200 slices."""
    runs = []
    for s in timeline:
        if runs and runs[-1][2] == s.label:
            start, _, label, total, n = runs[-1]
            runs[-1] = (start, s.end, label, total + s.scores[label], n + 1)
        else:
            runs.append((s.start, s.end, s.label, s.scores[s.label], 1))
    return [(a, b, label, total / n, n) for a, b, label, total, n in runs]
